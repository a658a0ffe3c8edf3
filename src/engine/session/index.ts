export { TrainSession, type TrainSessionOptions, type StepResult } from './train-session.js';
export { EvalSession, type EvalSessionOptions, type EvalResult, type StateSource } from './eval-session.js';
export { buildTrainGraph, type TrainGraph, type TrainGraphOptions } from './train-graph.js';
export type { Batch, FeedTensor, ModelBuilder, ModelOutputs } from './model.js';
export type { ExecutionOptions, ExecutionProvider } from './execution.js';
export type { StateKind } from './state.js';
export { type OpTime, type ProfileSummary, latestProfile, readProfile, summarizeProfile } from './profile.js';
export { fedDropout, fedDropPath, quantizedDropRatio, noiseInputs } from './fed-dropout.js';
