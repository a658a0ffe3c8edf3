export { type ConfusionMatrix, argmaxRow, confusionMatrix } from './confusion.js';
export { type ClassFigures, accuracy, classFigures, macroF1, meanDefined } from './classification.js';
export { binaryAuc, macroAuc, oneVsRestAuc } from './auc.js';
export { type CalibrationSummary, type ReliabilityBin, expectedCalibrationError } from './calibration.js';
export { meanNll, softmaxRows } from './softmax.js';
export { TEMPERATURE_BOUNDS, type TemperatureFit, fitTemperature } from './temperature.js';
export { type ClassReport, type ClassifierReport, type ReportInput, classifierReport } from './report.js';
export {
  type DetectionClassReport,
  type DetectionReport,
  type FrocResult,
  type PrPoint,
  asPredictions,
  cocoClassAp,
  COCO_IOUS,
  COCO_RECALLS,
  detectionReport,
  froc,
  FROC_FPS,
  vocClassAp,
} from './detection.js';
