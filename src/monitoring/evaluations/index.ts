export * from './types.js';
export { EVALUATION_JOB, createEvaluationService, type EvaluationJobResult } from './service.js';
export {
  EVALUATION_SPLITS,
  modelLogits,
  modelOutputs,
  predictSplit,
  resolveTarget,
  runEvaluation,
  splitImages,
  type EvaluationTarget,
  type ResolvedTarget,
  type SplitPredictions,
} from './run.js';
