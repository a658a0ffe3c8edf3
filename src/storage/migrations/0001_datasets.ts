// Dataset versions and their manifests (src/data/datasets). The image table's key is the object key,
// not the sha256: the build guarantees one row per sha256, and `data validate` checks it rather than
// the database hiding a corrupted manifest behind a constraint error.
import type { Kysely, Migration } from 'kysely';

export const datasetsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('dataset_versions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('inputs_json', 'text', (c) => c.notNull())
      .addColumn('image_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('report_json', 'text')
      .addColumn('error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('completed_at', 'text')
      .execute();
    await db.schema
      .createTable('dataset_images')
      .addColumn('version_id', 'text', (c) => c.notNull().references('dataset_versions.id').onDelete('cascade'))
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('object_key', 'text', (c) => c.notNull())
      .addColumn('file_name', 'text', (c) => c.notNull())
      .addColumn('dataset', 'text', (c) => c.notNull())
      .addColumn('source_archive', 'text', (c) => c.notNull())
      .addColumn('archive_sha256', 'text', (c) => c.notNull())
      .addColumn('entry_path', 'text', (c) => c.notNull())
      .addColumn('source_class', 'text', (c) => c.notNull())
      .addColumn('class', 'text', (c) => c.notNull())
      .addColumn('split', 'text', (c) => c.notNull())
      .addColumn('final_eval', 'integer', (c) => c.notNull())
      .addColumn('patient_key', 'text')
      .addColumn('width', 'integer', (c) => c.notNull())
      .addColumn('height', 'integer', (c) => c.notNull())
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('bit_depth', 'integer', (c) => c.notNull())
      .addColumn('mean_intensity', 'double precision', (c) => c.notNull())
      .addColumn('std_intensity', 'double precision', (c) => c.notNull())
      .addPrimaryKeyConstraint('dataset_images_pk', ['version_id', 'object_key'])
      .execute();
    await db.schema.createIndex('dataset_images_split_class').on('dataset_images').columns(['version_id', 'split', 'class']).execute();
    await db.schema.createIndex('dataset_images_sha').on('dataset_images').columns(['version_id', 'sha256']).execute();
    await db.schema.createIndex('dataset_images_patient').on('dataset_images').columns(['version_id', 'patient_key']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('dataset_images').execute();
    await db.schema.dropTable('dataset_versions').execute();
  },
};
