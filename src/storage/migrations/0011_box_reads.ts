// The detector's read of a study (issue 18): `box_reads` holds one row per CXR study a configured detector
// read at intake — its boxes in the original image's pixels, or the error when the read failed (the intake
// went on without boxes) — and `box_marks` reader B's verdict on each box (correct / incorrect), the labels
// the feedback dataset carries for retraining. A mark can be changed while B works on the study (the latest
// counts); every mark, first or changed, is an entry of the append-only audit log.
import type { Kysely, Migration } from 'kysely';

export const boxReadsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('box_reads')
      .addColumn('study_id', 'text', (c) => c.primaryKey().references('studies.id'))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('model_name', 'text')
      .addColumn('model_version', 'integer')
      .addColumn('detections_json', 'text')
      .addColumn('error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('box_marks')
      .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
      .addColumn('box_index', 'integer', (c) => c.notNull())
      .addColumn('correct', 'integer', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('box_marks_pk', ['study_id', 'box_index'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['box_marks', 'box_reads']) await db.schema.dropTable(t).execute();
  },
};
