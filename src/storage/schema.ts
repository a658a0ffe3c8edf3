// The metadata database's tables as Kysely types. Conventions that keep SQLite and PostgreSQL on the
// same queries: ids and timestamps are text (ISO-8601 UTC), JSON is text, booleans are integers 0/1,
// counts are integers, measurements are double precision.
//
// Each feature area adds its tables here (one interface per table) together with a migration in
// ./migrations/ that creates them.

/** A dataset version (src/data/datasets): immutable once `ready`. */
export interface DatasetVersionsTable {
  id: string;
  name: string | null;
  /** building | ready | failed */
  status: string;
  inputs_json: string;
  image_count: number;
  report_json: string | null;
  error: string | null;
  created_at: string;
  completed_at: string | null;
}

/** One image of a dataset version (its manifest row). */
export interface DatasetImagesTable {
  version_id: string;
  sha256: string;
  object_key: string;
  file_name: string;
  dataset: string;
  source_archive: string;
  archive_sha256: string;
  entry_path: string;
  source_class: string;
  class: string;
  /** train | val | test */
  split: string;
  final_eval: number;
  patient_key: string | null;
  width: number;
  height: number;
  bytes: number;
  format: string;
  bit_depth: number;
  mean_intensity: number;
  std_intensity: number;
}

export interface Database {
  dataset_versions: DatasetVersionsTable;
  dataset_images: DatasetImagesTable;
  experiments: ExperimentsTable;
  runs: RunsTable;
  run_metrics: RunMetricsTable;
  run_artifacts: RunArtifactsTable;
  registered_models: RegisteredModelsTable;
  model_versions: ModelVersionsTable;
  model_alias_events: ModelAliasEventsTable;
}

// ---- Tracking and registry (src/tracking, migration 0002_tracking) ----

/** A named group of runs. */
export interface ExperimentsTable {
  id: string;
  name: string;
  created_at: string;
}

/** One training run: its inputs (params, dataset version, code version) and its outcome. */
export interface RunsTable {
  id: string;
  experiment_id: string;
  name: string;
  /** running | finished | failed | killed */
  status: string;
  params_json: string;
  tags_json: string;
  dataset_version: string | null;
  parent_run_id: string | null;
  code_version: string | null;
  host: string;
  started_at: string;
  ended_at: string | null;
  /** Final scalar metrics given to finishRun (JSON object of numbers), or null. */
  summary_json: string | null;
}

/** One metric value; (run_id, key, step, split) is unique so a resumed run rewrites instead of duplicating. */
export interface RunMetricsTable {
  run_id: string;
  key: string;
  step: number;
  /** '' when the point has no split (NULL cannot take part in a primary key on both dialects). */
  split: string;
  /** NULL stands for NaN (SQLite cannot store NaN; a diverged loss is still worth recording). */
  value: number | null;
  epoch: number | null;
  at: string;
}

/** An artifact of a run stored in the object store under runs/<run>/artifacts/<name>. */
export interface RunArtifactsTable {
  run_id: string;
  name: string;
  object_key: string;
  size: number;
  content_type: string | null;
  created_at: string;
}

/** A registered model name; its counters allocate versions and alias events under a row lock. */
export interface RegisteredModelsTable {
  name: string;
  latest_version: number;
  alias_events: number;
  created_at: string;
}

/** One immutable model version. */
export interface ModelVersionsTable {
  name: string;
  version: number;
  /** run | import */
  source: string;
  run_id: string | null;
  dataset_version: string | null;
  onnx_key: string;
  onnx_sha256: string;
  onnx_bytes: number;
  /** Classes, input spec, preprocessing, temperature (JSON, see src/tracking/model-metadata.ts). */
  metadata_json: string;
  card_key: string;
  created_by: string;
  notes: string | null;
  created_at: string;
}

/** Append-only alias history: every promotion and rollback, who, when and why. */
export interface ModelAliasEventsTable {
  name: string;
  /** Per-name sequence number (1, 2, …), the order of events. */
  seq: number;
  alias: string;
  /** set | rollback */
  action: string;
  version: number;
  previous_version: number | null;
  by: string;
  reason: string;
  at: string;
}
