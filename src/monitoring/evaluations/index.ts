export * from './types.js';
export { EVALUATION_JOB, EVALUATION_SPLITS, createEvaluationService, type EvaluationJobResult } from './service.js';
export { runEvaluation, splitImages, type EvaluationTarget } from './run.js';
