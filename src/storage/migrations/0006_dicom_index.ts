// DICOM studies (issue 17): the index QIDO-RS answers from, and the sealed origin link results go back
// through. `dicom_studies` holds one row per study registered from a DICOM instance, with only
// de-identified values (remapped UIDs, the pseudonymous patient key, the date the de-identified
// instance carries): it is written in the intake transaction, so a study and its index row exist
// together or not at all. `study_origins` holds the identified origin only as a sealed value
// (core/seal.ts), and only for sites that turned results-return on.
import type { Kysely, Migration } from 'kysely';

export const dicomIndexMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('dicom_studies')
      .addColumn('study_id', 'text', (c) => c.primaryKey().references('studies.id'))
      .addColumn('study_instance_uid', 'text', (c) => c.notNull())
      .addColumn('series_instance_uid', 'text', (c) => c.notNull())
      .addColumn('sop_instance_uid', 'text', (c) => c.notNull())
      .addColumn('sop_class_uid', 'text', (c) => c.notNull())
      .addColumn('transfer_syntax_uid', 'text', (c) => c.notNull())
      .addColumn('modality', 'text', (c) => c.notNull())
      .addColumn('patient_key', 'text', (c) => c.notNull())
      .addColumn('study_date', 'text')
      .addColumn('rows', 'integer', (c) => c.notNull())
      .addColumn('columns', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    // QIDO looks up by study (and series, instance within it), by instance (a resend), by patient.
    await db.schema.createIndex('dicom_studies_study').on('dicom_studies').columns(['study_instance_uid', 'series_instance_uid']).execute();
    await db.schema.createIndex('dicom_studies_sop').on('dicom_studies').columns(['sop_instance_uid']).execute();
    await db.schema.createIndex('dicom_studies_patient').on('dicom_studies').columns(['patient_key']).execute();
    await db.schema
      .createTable('study_origins')
      .addColumn('study_id', 'text', (c) => c.primaryKey().references('studies.id'))
      .addColumn('sealed', 'text', (c) => c.notNull())
      .addColumn('via', 'text', (c) => c.notNull())
      .addColumn('calling_ae', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['study_origins', 'dicom_studies']) await db.schema.dropTable(t).execute();
  },
};
