export {
  DEFAULT_MIN_WEIGHT_ELEMENTS,
  QUANTIZATION_METADATA_KEY,
  QUANTIZATION_METHOD,
  quantizeDynamic,
  type QuantizedForm,
  type QuantizedModel,
  type QuantizedProduct,
  type QuantizeOptions,
  type QuantizeReport,
  type SkippedProduct,
} from './dynamic.js';
export { dequantizeWeight, quantizeWeight, quantRange, roundHalfEven, type QuantizedWeight, type WeightQuantization, type WeightType } from './weights.js';
