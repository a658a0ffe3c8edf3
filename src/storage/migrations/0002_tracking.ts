// Experiment tracking and the model registry (src/tracking). Metrics are keyed by (run, key, step,
// split) so a resumed run rewrites a step instead of adding a row; model versions are immutable and
// the alias history is append-only (the current alias is derived from it, never stored apart).
import type { Kysely, Migration } from 'kysely';

export const trackingMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('experiments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('experiment_id', 'text', (c) => c.notNull().references('experiments.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('params_json', 'text', (c) => c.notNull())
      .addColumn('tags_json', 'text', (c) => c.notNull())
      .addColumn('dataset_version', 'text')
      .addColumn('parent_run_id', 'text', (c) => c.references('runs.id'))
      .addColumn('code_version', 'text')
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('ended_at', 'text')
      .addColumn('summary_json', 'text')
      .execute();
    await db.schema.createIndex('runs_experiment').on('runs').columns(['experiment_id', 'started_at']).execute();
    await db.schema
      .createTable('run_metrics')
      .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('split', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('value', 'double precision')
      .addColumn('epoch', 'integer')
      .addColumn('at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('run_metrics_pk', ['run_id', 'key', 'step', 'split'])
      .execute();
    await db.schema
      .createTable('run_artifacts')
      .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('object_key', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('content_type', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('run_artifacts_pk', ['run_id', 'name'])
      .execute();
    await db.schema
      .createTable('registered_models')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('latest_version', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('alias_events', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('model_versions')
      .addColumn('name', 'text', (c) => c.notNull().references('registered_models.name'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.references('runs.id'))
      .addColumn('dataset_version', 'text')
      .addColumn('onnx_key', 'text', (c) => c.notNull())
      .addColumn('onnx_sha256', 'text', (c) => c.notNull())
      .addColumn('onnx_bytes', 'bigint', (c) => c.notNull())
      .addColumn('metadata_json', 'text', (c) => c.notNull())
      .addColumn('card_key', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('notes', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('model_versions_pk', ['name', 'version'])
      .execute();
    await db.schema.createIndex('model_versions_run').on('model_versions').column('run_id').execute();
    await db.schema
      .createTable('model_alias_events')
      .addColumn('name', 'text', (c) => c.notNull().references('registered_models.name'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('alias', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('previous_version', 'integer')
      .addColumn('by', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('model_alias_events_pk', ['name', 'seq'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['model_alias_events', 'model_versions', 'registered_models', 'run_artifacts', 'run_metrics', 'runs', 'experiments']) {
      await db.schema.dropTable(t).execute();
    }
  },
};
