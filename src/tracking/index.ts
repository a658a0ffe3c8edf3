// Experiment tracking and the model registry: the API the trainer, the CLI and serving use.
export { Tracker, artifactKey, type ListRunsOptions, type StartRunOptions } from './tracker.js';
export { RUN_STATUSES, type ArtifactInfo, type ExperimentRecord, type MetricPoint, type RunRecord, type RunStatus } from './types.js';
export { SYSTEM_METRIC_KEYS } from './system-metrics.js';
export { ALIASES, MODEL_NAME, assertAlias, assertModelName, type Alias } from './names.js';
export { gitCommit } from './code-version.js';
