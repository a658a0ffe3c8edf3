// Training: the trainer loop, data loading and augmentation, metrics and calibration, checkpoints/resume and
// retraining (docs/training.md).
export { startTraining, resumeTraining, type TrainerDeps, type TrainResult } from './trainer.js';
export { modelRecipe, parseTrainOptions, trainOptionsSchema, type TrainOptions, type TrainOptionsInput } from './options.js';
export { ARTIFACTS, parseModelRef, type ModelRef, type ModelResolver } from './retrain.js';
export { TRAINER_METADATA, preprocessingSpec, type FinalMetrics } from './finalize.js';
export * from './metrics/index.js';
export { registerTrainJob, TRAIN_JOB_KIND, trainForJob, trainJobHandler, type TrainJobDeps, type TrainJobPayload, type TrainJobResult } from './train-job.js';
export * from './sweep/index.js';
