// The change protocol and gated rollout (src/rollout, docs/rollout.md). `rollout_reports`: one row per
// candidate evaluation against a change protocol — the verdict, its reasons and the whole report — kept
// forever (what passed or was rejected, when, by whom, under which protocol file). `rollouts`: one row per
// staged canary of a candidate against the production version it would replace — its step and weight, and
// how it ended (promoted, rolled back). `rollout_serving_stats`: what the serving processes saw per model
// version (requests, errors, latency histogram), flushed every few seconds, so the canary's guards read the
// same figures from any process.
import type { Kysely, Migration } from 'kysely';

export const rolloutMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('rollout_reports')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('model_name', 'text', (c) => c.notNull())
      .addColumn('model_version', 'integer', (c) => c.notNull())
      .addColumn('baseline_version', 'integer')
      .addColumn('protocol_name', 'text', (c) => c.notNull())
      .addColumn('protocol_version', 'integer', (c) => c.notNull())
      .addColumn('protocol_sha256', 'text', (c) => c.notNull())
      .addColumn('passed', 'integer', (c) => c.notNull())
      .addColumn('failures_json', 'text', (c) => c.notNull())
      .addColumn('report_json', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('rollout_reports_model').on('rollout_reports').columns(['model_name', 'model_version', 'created_at']).execute();
    await db.schema
      .createTable('rollouts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('model_name', 'text', (c) => c.notNull())
      .addColumn('candidate_version', 'integer', (c) => c.notNull())
      .addColumn('baseline_version', 'integer', (c) => c.notNull())
      .addColumn('report_id', 'text', (c) => c.notNull())
      .addColumn('canary_json', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('weight', 'double precision', (c) => c.notNull())
      .addColumn('step_started_at', 'text', (c) => c.notNull())
      .addColumn('last_judgement_json', 'text')
      .addColumn('ended_reason', 'text')
      .addColumn('started_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('ended_at', 'text')
      .execute();
    await db.schema.createIndex('rollouts_model').on('rollouts').columns(['model_name', 'status']).execute();
    await db.schema
      .createTable('rollout_serving_stats')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('model_name', 'text', (c) => c.notNull())
      .addColumn('model_version', 'integer', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('requests', 'integer', (c) => c.notNull())
      .addColumn('errors', 'integer', (c) => c.notNull())
      .addColumn('latency_counts_json', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('rollout_serving_stats_version').on('rollout_serving_stats').columns(['model_name', 'model_version', 'at']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['rollout_serving_stats', 'rollouts', 'rollout_reports']) await db.schema.dropTable(t).execute();
  },
};
