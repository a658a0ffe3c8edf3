// Sweeps: a grid or random search over training options, each trial a `train` job (docs/training.md, "Sweeps").
export { MAX_TRIALS, parseSweepFile, planSweep, readSweepFile, type SweepFile, type SweepPlan, type SweepTrial } from './config.js';
export { queueSweep, rankTrials, runSweep, SWEEP_TAG, TRIAL_TAG, type SweepRunDeps, type TrialState } from './run.js';
