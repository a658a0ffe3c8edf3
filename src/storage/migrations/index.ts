// The ordered list of migrations. Names sort in the order they must run; a migration, once released,
// is never edited: add a new one.
import type { Migration } from 'kysely';

import { datasetsMigration } from './0001_datasets.js';
import { trackingMigration } from './0002_tracking.js';
import { servingMigration } from './0003_serving.js';
import { workflowMigration } from './0004_workflow.js';
import { authLoginMigration } from './0005_auth_login.js';
import { dicomIndexMigration } from './0006_dicom_index.js';
import { pacsExportsMigration } from './0007_pacs_exports.js';
import { driftMigration } from './0008_drift.js';
import { rolloutMigration } from './0009_rollout.js';
import { retrainMigration } from './0010_retrain.js';
import { boxReadsMigration } from './0011_box_reads.js';

export const migrations: Record<string, Migration> = {
  '0001_datasets': datasetsMigration,
  '0002_tracking': trackingMigration,
  '0003_serving': servingMigration,
  '0004_workflow': workflowMigration,
  '0005_auth_login': authLoginMigration,
  '0006_dicom_index': dicomIndexMigration,
  '0007_pacs_exports': pacsExportsMigration,
  '0008_drift': driftMigration,
  '0009_rollout': rolloutMigration,
  '0010_retrain': retrainMigration,
  '0011_box_reads': boxReadsMigration,
};
