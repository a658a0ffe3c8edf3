// Experiment tracking and the model registry: the API the trainer, the CLI and serving use.
export { Tracker, artifactKey, type ListRunsOptions, type StartRunOptions } from './tracker.js';
export { RUN_STATUSES, type ArtifactInfo, type ExperimentRecord, type MetricPoint, type RunRecord, type RunStatus } from './types.js';
export { SYSTEM_METRIC_KEYS } from './system-metrics.js';
export { ALIASES, MODEL_NAME, assertAlias, assertModelName, type Alias } from './names.js';
export { gitCommit } from './code-version.js';
export { InvalidModelError } from './errors.js';
export {
  ModelRegistry,
  aliasStacks,
  modelObjectKeys,
  type AliasEvent,
  type LoadOptions,
  type ModelRef,
  type ModelVersion,
  type RegisteredModel,
  type VersionCreatedListener,
} from './registry.js';
export {
  TEMPERATURE_METADATA_KEY,
  importMetaSchema,
  parseImportMeta,
  preprocessingSchema,
  type ImportMeta,
  type ModelMetadata,
  type Preprocessing,
} from './model-metadata.js';
export { buildModelCard, modelCardMarkdown, MODEL_CARD_SCHEMA, type ModelCard, type ProtocolCardSection } from './model-card.js';
export { createLoadedModel, type LoadedModel, type Prediction } from './loaded-model.js';
export { loadModelVersion, modelBytes } from './model-loader.js';
export { readModelFile, versionFromImport, versionFromRun, versionFromSource, type CardSources, type NewVersion } from './version-sources.js';
export { imageToInput, normalizePixels, perChannel } from './model-input.js';
export { detectionMetaSchema, type Detection, type DetectionMeta } from './detection.js';
