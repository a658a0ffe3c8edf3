export { EMBEDDING_OUTPUT, EXPORT_METADATA, type ExportOptions, type ExportedModel, exportInferenceModel } from './inference.js';
export { foldBatchNorm } from './fold-batch-norm.js';
