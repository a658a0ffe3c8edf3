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
  jobs: JobsTable;
  evaluations: EvaluationsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  shadow_comparisons: ShadowComparisonsTable;
  studies: StudiesTable;
  reads: ReadsTable;
  policies: PoliciesTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  dicom_studies: DicomStudiesTable;
  study_origins: StudyOriginsTable;
  pacs_exports: PacsExportsTable;
  pacs_export_cursor: PacsExportCursorTable;
  drift_observations: DriftObservationsTable;
  drift_checks: DriftChecksTable;
  rollout_reports: RolloutReportsTable;
  rollouts: RolloutsTable;
  rollout_serving_stats: RolloutServingStatsTable;
  retrain_triggers: RetrainTriggersTable;
  box_reads: BoxReadsTable;
  box_marks: BoxMarksTable;
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

/** A background job (evaluation, batch inference, …). status: queued | running | succeeded | failed | cancelled. */
export interface JobsTable {
  id: string;
  kind: string;
  payload_json: string;
  status: string;
  /** 0…1. */
  progress: number;
  result_json: string | null;
  /** `{code, message}` of a failed job (never a stack trace). */
  error_json: string | null;
  attempts: number;
  created_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Worker that holds the job (host:pid:queue), and its last heartbeat: a running job whose worker died is re-queued. */
  locked_by: string | null;
  heartbeat_at: string | null;
}

/** An evaluation of a registered model version on one split of a dataset version. */
export interface EvaluationsTable {
  id: string;
  job_id: string;
  model_name: string;
  model_version: number;
  dataset_version: string;
  split: string;
  /** queued | running | succeeded | failed (mirrors the job). */
  status: string;
  images: number | null;
  accuracy: number | null;
  macro_f1: number | null;
  /** Per-class precision/recall/F1/support, confusion matrix, AUC, ECE (JSON). */
  report_json: string | null;
  created_by: string;
  created_at: string;
  finished_at: string | null;
}

/** A person or service using the API. role: reader | adjudicator | ml-engineer | admin. */
export interface UsersTable {
  id: string;
  name: string;
  role: string;
  created_at: string;
  disabled_at: string | null;
  /** `scrypt$N$r$p$salt$hash` (migration 0005_auth_login); null: the user cannot log in with a password. */
  password_hash: string | null;
}

/**
 * A bearer token: only its sha256 is stored; the token itself is shown once when created.
 * kind (migration 0005_auth_login): `api` (long-lived, from the CLI) | `session` (from a login, expires).
 */
export interface ApiTokensTable {
  id: string;
  user_id: string;
  token_sha256: string;
  label: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  kind: string;
  /** Sessions only: when the token stops working (ISO-8601 UTC); null for API tokens. */
  expires_at: string | null;
}

/** One request scored by both production and the shadow version of a model. */
export interface ShadowComparisonsTable {
  id: string;
  model_name: string;
  production_version: number;
  shadow_version: number;
  request_id: string;
  study_id: string | null;
  production_class: string;
  production_probability: number;
  shadow_class: string;
  shadow_probability: number;
  /** 1 when both top classes are equal. */
  agree: number;
  at: string;
}

// ---- Second-reader workflow (src/workflow, migration 0004_workflow) ----

/** One image to be read. status: awaiting_a | awaiting_b | auto_finalized | adjudicated. */
export interface StudiesTable {
  id: string;
  /** cxr | oct */
  modality: string;
  /** upload | dataset */
  source: string;
  dataset_version: string | null;
  /** sha256 of the dataset image (its manifest row), when the study came from a dataset version. */
  dataset_sha256: string | null;
  /** Object-store key of the image, chosen by the server (never from input). */
  image_key: string;
  /** Ground truth, known only in simulation (dataset intake); never shown to readers. */
  truth_class: string | null;
  status: string;
  /** 1 = read first. */
  priority: number;
  /** 1 when QA sampling sent a would-be auto-finalized study to B. */
  qa: number;
  /** auto_finalized | second_read, set when A commits. */
  decision: string | null;
  /** Why a study went to B (JSON array of reason codes). */
  decision_reasons_json: string | null;
  /** The model version that read the study at intake (null when the model read failed). */
  model_name: string | null;
  model_version: number | null;
  /** The policy in force when A committed (null when none existed for the model version). */
  policy_id: string | null;
  final_label: string | null;
  /** User id of whoever submitted the study. */
  created_by: string;
  created_at: string;
  decided_at: string | null;
  finalized_at: string | null;
  /** Incremented by every transition: the compare-and-set token of optimistic locking. */
  row_version: number;
}

/** A reader's label for a study; (study_id, reader) is unique. reader: A | B | model. */
export interface ReadsTable {
  study_id: string;
  reader: string;
  /** null for the model. */
  user_id: string | null;
  label: string;
  /** The model's probabilities (JSON array of {class, probability}, most probable first); null for people. */
  probabilities_json: string | null;
  created_at: string;
}

/** The detector's read of a CXR study (migration 0011): its boxes, or why it failed. One row per study. */
export interface BoxReadsTable {
  study_id: string;
  /** read | failed */
  status: string;
  model_name: string | null;
  model_version: number | null;
  /** JSON array of {class, score, box: [x0, y0, x1, y1]} in the original image's pixels, best first; null when failed. */
  detections_json: string | null;
  error: string | null;
  created_at: string;
}

/** Reader B's verdict on one box of a study's box read; (study_id, box_index) is unique, the latest mark counts. */
export interface BoxMarksTable {
  study_id: string;
  box_index: number;
  /** 1 correct, 0 incorrect. */
  correct: number;
  user_id: string;
  created_at: string;
}

/** A decision policy, versioned per model name + version (1, 2, …). */
export interface PoliciesTable {
  id: string;
  model_name: string;
  model_version: number;
  version: number;
  /** JSON object class → minimum model confidence for auto-finalization. */
  thresholds_json: string;
  /** JSON array of classes that always go to B. */
  always_double_read_json: string;
  qa_fraction: number;
  created_by: string;
  created_at: string;
  /** How the policy was chosen (e.g. the fit's sweep), JSON. */
  report_json: string | null;
}

/** Append-only log of clinical events; each row's hash covers its content and the previous row's hash. */
export interface AuditLogTable {
  seq: number;
  at: string;
  actor: string;
  event: string;
  study_id: string | null;
  /** Canonical JSON (sorted keys). */
  payload_json: string;
  prev_hash: string;
  hash: string;
}

/** The single row (id 1) naming the newest audit entry: appenders lock it, verification compares with it. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

// ---- DICOM studies (src/workflow, migration 0006_dicom_index) ----

/** The QIDO-RS index: one row per study registered from a DICOM instance, de-identified values only. */
export interface DicomStudiesTable {
  study_id: string;
  /** Remapped (2.25.…) UIDs: the ones the stored instance carries. */
  study_instance_uid: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  sop_class_uid: string;
  /** The syntax the stored instance is encoded in. */
  transfer_syntax_uid: string;
  /** DICOM Modality (CR, DX, OPT…). */
  modality: string;
  /** The pseudonymous patient key: QIDO's PatientID. */
  patient_key: string;
  /** YYYYMMDD as the de-identified instance carries it (null when the profile emptied it). */
  study_date: string | null;
  rows: number;
  columns: number;
  created_at: string;
}

/** The identified origin of a DICOM study, sealed (core/seal.ts); only when results-return is on. */
export interface StudyOriginsTable {
  study_id: string;
  sealed: string;
  /** upload | stow | dimse */
  via: string;
  calling_ae: string | null;
  created_at: string;
}

/** A result sent back to one PACS node (src/gateway/exporter.ts); the SR is rebuilt per attempt, never stored. */
export interface PacsExportsTable {
  id: string;
  node: string;
  /** model-result | reader-result */
  kind: string;
  study_id: string;
  /** The audit entry the result came from. */
  audit_seq: number;
  /** The SR's SOP Instance UID; null when skipped (no SR could be made). */
  sop_instance_uid: string | null;
  /** What the SR says besides the sealed origin (model read and decision, or reader B's label), non-identifying. */
  payload_json: string;
  /** pending | sent | dead | skipped */
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  /** The last failure, or why it was skipped. */
  last_error: string | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
}

/** How far the exporter has read the audit trail (one row, id 1). */
export interface PacsExportCursorTable {
  id: number;
  seq: number;
}

// ---- Drift monitoring (src/monitoring/drift, migration 0008_drift) ----

/** One model read as the drift monitor sees it (see the migration for why it copies the read's top class). */
export interface DriftObservationsTable {
  id: string;
  study_id: string | null;
  model_name: string;
  model_version: number;
  /** cxr | oct | unknown */
  modality: string;
  top_class: string;
  top_probability: number;
  /** Intensity mean/std of the decoded image (8-bit grey scale, 0…255) and its size in pixels; null when not measured. */
  image_mean: number | null;
  image_std: number | null;
  image_width: number | null;
  image_height: number | null;
  /** The model's pooled embedding, base64 of little-endian float32; null when the model exports none. */
  embedding: string | null;
  at: string;
}

/** One drift check of a production window against the model version's reference profile; detected = 1 is an alarm. */
export interface DriftChecksTable {
  id: string;
  model_name: string;
  model_version: number;
  /** cxr | oct | all */
  modality: string;
  /** count | time */
  window_kind: string;
  window_start: string;
  window_end: string;
  observations: number;
  alpha: number;
  /** holm */
  correction: string;
  /** JSON array of {test, statistic, pValue, adjustedPValue, detected, skipped?} */
  tests_json: string;
  detected: number;
  /** CBPE: mean top-class calibrated probability over the window. */
  estimated_accuracy: number | null;
  /** Share of the window's studies whose reader-A label equals the model's top class (null: no reads yet). */
  realized_agreement: number | null;
  agreement_reads: number;
  created_by: string;
  created_at: string;
}
// ---- Change protocol and gated rollout (src/rollout, migration 0009_rollout) ----

/** One candidate evaluation against a change protocol (src/rollout/evaluate.ts): verdict, reasons, the whole report. */
export interface RolloutReportsTable {
  id: string;
  model_name: string;
  model_version: number;
  /** The production version it was compared with; null when the model had none. */
  baseline_version: number | null;
  protocol_name: string;
  protocol_version: number;
  /** sha256 of the protocol file's canonical JSON: which exact criteria were applied. */
  protocol_sha256: string;
  /** 1 = passed (the version went to `staging`), 0 = rejected. */
  passed: number;
  /** The failed criteria's reasons (JSON string[]; empty when passed). */
  failures_json: string;
  report_json: string;
  created_by: string;
  created_at: string;
}

/** A staged canary of a candidate (src/rollout/service.ts). status: active | promoted | rolled_back. */
export interface RolloutsTable {
  id: string;
  model_name: string;
  candidate_version: number;
  /** The production version the candidate is compared with (and rolled back to). */
  baseline_version: number;
  /** The passing protocol report that let the candidate in. */
  report_id: string;
  /** The protocol's canary section, frozen at start (JSON). */
  canary_json: string;
  status: string;
  /** Index into the canary steps. */
  step: number;
  /** The share of studies the canary gets now (0 once ended). */
  weight: number;
  step_started_at: string;
  /** The latest gate judgement (JSON), for status and the UI. */
  last_judgement_json: string | null;
  ended_reason: string | null;
  started_by: string;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
}

/** What a serving process saw of one model version between two flushes (src/rollout/serving-stats.ts). */
export interface RolloutServingStatsTable {
  id: string;
  model_name: string;
  model_version: number;
  at: string;
  requests: number;
  errors: number;
  /** Counts per latency bucket (JSON number[], bucket upper edges in serving-stats.ts's LATENCY_EDGES_MS). */
  latency_counts_json: string;
}

// ---- Retraining triggers (src/loop, migration 0010_retrain) ----

/** Trigger state of one model the loop retrains; row_version is the compare-and-set token of every enqueue. */
export interface RetrainTriggersTable {
  model_name: string;
  last_job_id: string | null;
  /** manual | schedule | drift | labels */
  last_trigger: string | null;
  last_enqueued_at: string | null;
  last_scheduled_at: string | null;
  /** The `at` of the last drift alarm acted on (or seen while a retrain was already under way). */
  drift_cursor: string | null;
  row_version: number;
  updated_at: string;
}
