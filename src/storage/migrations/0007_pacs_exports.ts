// Results sent back to the PACS (issue 17, src/gateway/exporter.ts). One row per (result, node): which
// study and which audit event it came from, the result SR's SOP Instance UID (unique per node, so a
// resend never makes a second row), its state (pending → sent, or dead after the last retry, or skipped
// with the reason when no SR can be made), attempts and when the next one is due. The SR itself is not
// stored: it carries the patient's identity, so it is rebuilt from the sealed origin for every attempt.
// `pacs_export_cursor` is the one row that remembers how far the audit trail has been read.
import { type Kysely, type Migration, sql } from 'kysely';

export const pacsExportsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('pacs_exports')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('node', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('study_id', 'text', (c) => c.notNull())
      .addColumn('audit_seq', 'integer', (c) => c.notNull())
      .addColumn('sop_instance_uid', 'text')
      .addColumn('payload_json', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'text')
      .execute();
    // NULLs are distinct in a unique index on both databases: skipped rows (no SR, no UID) never collide.
    await db.schema.createIndex('pacs_exports_node_sop').on('pacs_exports').columns(['node', 'sop_instance_uid']).unique().execute();
    // One row per (event, kind, node) whatever happened to it: re-reading the trail adds nothing.
    await db.schema.createIndex('pacs_exports_event').on('pacs_exports').columns(['audit_seq', 'kind', 'node']).unique().execute();
    await db.schema.createIndex('pacs_exports_due').on('pacs_exports').columns(['status', 'next_attempt_at']).execute();
    await db.schema
      .createTable('pacs_export_cursor')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .execute();
    await sql`insert into pacs_export_cursor (id, seq) values (1, 0)`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['pacs_export_cursor', 'pacs_exports']) await db.schema.dropTable(t).execute();
  },
};
