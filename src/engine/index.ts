// Public API of the training engine (src/engine imports nothing else from src/).
export * from './graph.js';
export { forwardFlops, type FlopCount, graphFlops } from './flops.js';
export * from './errors.js';
export * as init from './init.js';
export * as ops from './ops/index.js';
export * from './autodiff/index.js';
export { serialize, modelProto, type SerializeOptions } from './onnx/serialize.js';
export { decodeModel, type DecodedModel, type DecodedNode, type DecodedValue } from './onnx/deserialize.js';
export { onnx, type OnnxTypes } from './onnx/proto.js';
export { ONNX_DTYPE, isFloat, makeData, allocData, type TensorData } from './onnx/dtype.js';
// Training side: optimizers, sessions, checkpoints, export (appended by the training helper).
export * from './optim/index.js';
export * from './session/index.js';
export * from './checkpoint/index.js';
export * from './export/index.js';
export * from './quantize/index.js';
