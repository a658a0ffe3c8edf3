// Retraining triggers (issue 19, src/loop). `retrain_triggers`: one row per model the loop retrains — the last
// retrain job it enqueued (by which trigger, when), the drift-alarm cursor (the `at` of the last alarm seen) and
// the last scheduled run. Every enqueue is a compare-and-set on `row_version`, so two API processes running
// the trigger loop over one DB never enqueue the same retrain twice.
import type { Kysely, Migration } from 'kysely';

export const retrainMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('retrain_triggers')
      .addColumn('model_name', 'text', (c) => c.primaryKey())
      .addColumn('last_job_id', 'text')
      .addColumn('last_trigger', 'text')
      .addColumn('last_enqueued_at', 'text')
      .addColumn('last_scheduled_at', 'text')
      .addColumn('drift_cursor', 'text')
      .addColumn('row_version', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('retrain_triggers').execute();
  },
};
