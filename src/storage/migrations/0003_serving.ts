// Serving-era tables (issue 5): background jobs (the embedded in-process queue persists here; the
// BullMQ queue mirrors its jobs' state here too, so `GET /v1/evaluations/:id` reads one place),
// evaluations of registered models on dataset versions, API users and hashed tokens, and the
// production-vs-shadow comparisons of shadow deployments.
import type { Kysely, Migration } from 'kysely';

export const servingMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('payload_json', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('progress', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('result_json', 'text')
      .addColumn('error_json', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('finished_at', 'text')
      .addColumn('locked_by', 'text')
      .addColumn('heartbeat_at', 'text')
      .execute();
    await db.schema.createIndex('jobs_status').on('jobs').columns(['status', 'created_at']).execute();
    await db.schema
      .createTable('evaluations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
      .addColumn('model_name', 'text', (c) => c.notNull())
      .addColumn('model_version', 'integer', (c) => c.notNull())
      .addColumn('dataset_version', 'text', (c) => c.notNull())
      .addColumn('split', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('images', 'integer')
      .addColumn('accuracy', 'double precision')
      .addColumn('macro_f1', 'double precision')
      .addColumn('report_json', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .execute();
    await db.schema.createIndex('evaluations_model').on('evaluations').columns(['model_name', 'model_version', 'created_at']).execute();
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('disabled_at', 'text')
      .execute();
    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('token_sha256', 'text', (c) => c.notNull().unique())
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'text')
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema
      .createTable('shadow_comparisons')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('model_name', 'text', (c) => c.notNull())
      .addColumn('production_version', 'integer', (c) => c.notNull())
      .addColumn('shadow_version', 'integer', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('study_id', 'text')
      .addColumn('production_class', 'text', (c) => c.notNull())
      .addColumn('production_probability', 'double precision', (c) => c.notNull())
      .addColumn('shadow_class', 'text', (c) => c.notNull())
      .addColumn('shadow_probability', 'double precision', (c) => c.notNull())
      .addColumn('agree', 'integer', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('shadow_comparisons_model').on('shadow_comparisons').columns(['model_name', 'at']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['shadow_comparisons', 'api_tokens', 'users', 'evaluations', 'jobs']) await db.schema.dropTable(t).execute();
  },
};
