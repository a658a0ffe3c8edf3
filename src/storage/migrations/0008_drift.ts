// Drift monitoring (issue 19, src/monitoring/drift). `drift_observations`: one row per model read the
// monitor may compare with the model version's reference profile — the top class and its probability, the
// image statistics of the input (intensity mean/std of the decoded image, its size) and, when the model
// exports one, the pooled embedding (base64 of little-endian float32). It copies the read's top class and
// probability from `reads` so that a window is one indexed range scan and reads made outside the workflow
// (none yet) can be observed too. `drift_checks`: every check of a window against the profile, its tests'
// p-values (raw and corrected), the decision, and the label-free accuracy estimate beside the realized
// agreement with readers; a row with detected = 1 is a drift alarm (the event the retrain trigger reads).
import type { Kysely, Migration } from 'kysely';

export const driftMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('drift_observations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('study_id', 'text')
      .addColumn('model_name', 'text', (c) => c.notNull())
      .addColumn('model_version', 'integer', (c) => c.notNull())
      .addColumn('modality', 'text', (c) => c.notNull())
      .addColumn('top_class', 'text', (c) => c.notNull())
      .addColumn('top_probability', 'double precision', (c) => c.notNull())
      .addColumn('image_mean', 'double precision')
      .addColumn('image_std', 'double precision')
      .addColumn('image_width', 'integer')
      .addColumn('image_height', 'integer')
      .addColumn('embedding', 'text')
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('drift_observations_model').on('drift_observations').columns(['model_name', 'model_version', 'at']).execute();
    await db.schema
      .createTable('drift_checks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('model_name', 'text', (c) => c.notNull())
      .addColumn('model_version', 'integer', (c) => c.notNull())
      .addColumn('modality', 'text', (c) => c.notNull())
      .addColumn('window_kind', 'text', (c) => c.notNull())
      .addColumn('window_start', 'text', (c) => c.notNull())
      .addColumn('window_end', 'text', (c) => c.notNull())
      .addColumn('observations', 'integer', (c) => c.notNull())
      .addColumn('alpha', 'double precision', (c) => c.notNull())
      .addColumn('correction', 'text', (c) => c.notNull())
      .addColumn('tests_json', 'text', (c) => c.notNull())
      .addColumn('detected', 'integer', (c) => c.notNull())
      .addColumn('estimated_accuracy', 'double precision')
      .addColumn('realized_agreement', 'double precision')
      .addColumn('agreement_reads', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('drift_checks_model').on('drift_checks').columns(['model_name', 'created_at']).execute();
    await db.schema.createIndex('drift_checks_detected').on('drift_checks').columns(['detected', 'created_at']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['drift_checks', 'drift_observations']) await db.schema.dropTable(t).execute();
  },
};
