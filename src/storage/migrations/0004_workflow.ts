// Second-reader workflow tables (issue 6): studies and their reads (A, B, model), the versioned
// policies that decide between auto-finalization and a second read, and the append-only, hash-chained
// audit log of every clinical event. `audit_head` is the single row appenders update first: its row
// lock serializes appends on PostgreSQL (no two entries claim the same seq) and it remembers the last
// entry, so deleting the newest rows of the log is detected too.
import { type Kysely, type Migration, sql } from 'kysely';

/** prev_hash of the first audit entry: workflow/audit.ts's AUDIT_GENESIS_HASH, written out here because a migration
 * is frozen history and imports nothing that may change (audit.test.ts verifies a chain from this seeded head). */
const AUDIT_GENESIS_HASH = '0'.repeat(64);

export const workflowMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('policies')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('model_name', 'text', (c) => c.notNull())
      .addColumn('model_version', 'integer', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('thresholds_json', 'text', (c) => c.notNull())
      .addColumn('always_double_read_json', 'text', (c) => c.notNull())
      .addColumn('qa_fraction', 'double precision', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('report_json', 'text')
      .addUniqueConstraint('policies_model_version', ['model_name', 'model_version', 'version'])
      .execute();
    await db.schema
      .createTable('studies')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('modality', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('dataset_version', 'text')
      .addColumn('dataset_sha256', 'text')
      .addColumn('image_key', 'text', (c) => c.notNull())
      .addColumn('truth_class', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('qa', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('decision', 'text')
      .addColumn('decision_reasons_json', 'text')
      .addColumn('model_name', 'text')
      .addColumn('model_version', 'integer')
      .addColumn('policy_id', 'text', (c) => c.references('policies.id'))
      .addColumn('final_label', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('decided_at', 'text')
      .addColumn('finalized_at', 'text')
      .addColumn('row_version', 'integer', (c) => c.notNull().defaultTo(1))
      .execute();
    await db.schema.createIndex('studies_worklist').on('studies').columns(['status', 'priority', 'created_at']).execute();
    await db.schema
      .createTable('reads')
      .addColumn('study_id', 'text', (c) => c.notNull().references('studies.id'))
      .addColumn('reader', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text')
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('probabilities_json', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('reads_pk', ['study_id', 'reader'])
      .execute();
    await db.schema
      .createTable('audit_log')
      .addColumn('seq', 'integer', (c) => c.primaryKey())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('study_id', 'text')
      .addColumn('payload_json', 'text', (c) => c.notNull())
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_study').on('audit_log').columns(['study_id', 'seq']).execute();
    await db.schema
      .createTable('audit_head')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    await sql`insert into audit_head (id, seq, hash) values (1, 0, ${AUDIT_GENESIS_HASH})`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['audit_head', 'audit_log', 'reads', 'studies', 'policies']) await db.schema.dropTable(t).execute();
  },
};
