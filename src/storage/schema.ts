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
}
