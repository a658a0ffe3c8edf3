// The metadata database's contract as one test body, run on SQLite (unit tier) and on a real
// PostgreSQL (integration tier): migrations, their failure mode, and the portable query conventions
// (text ids and timestamps, JSON as text, booleans as 0/1, counts as numbers).
import { type Migration, PostgresAdapter, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';

import { StorageError } from '../../../src/core/errors.js';
import { type Db, type DbDialect, migrateToLatest, type Migrations } from '../../../src/storage/db.js';
import type { TestDatabase } from '../../../src/storage/testing.js';

interface WidgetTable {
  id: string;
  created_at: string;
  doc: string;
  active: number;
  score: number | null;
  n: number;
}
interface NoteTable {
  id: string;
  widget_id: string;
  body: string;
}
type TestTables = { widget: WidgetTable; note: NoteTable };

const createWidget: Migration = {
  up: async (db) => {
    await db.schema
      .createTable('widget')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('doc', 'text', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('score', 'double precision')
      .addColumn('n', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
const indexWidget: Migration = {
  up: async (db) => {
    await db.schema.createIndex('widget_active_created').on('widget').columns(['active', 'created_at']).execute();
  },
};
const createNote: Migration = {
  up: async (db) => {
    await db.schema
      .createTable('note')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('widget_id', 'text', (c) => c.notNull().references('widget.id').onDelete('cascade'))
      .addColumn('body', 'text', (c) => c.notNull())
      .execute();
  },
};
/** Creates a table, then fails: the table must not survive (the run is one transaction). */
const broken: Migration = {
  up: async (db) => {
    await db.schema.createTable('half_done').addColumn('id', 'text').execute();
    await sql`select * from table_that_does_not_exist`.execute(db);
  },
};

export const testMigrations: Migrations = { '0001_widget': createWidget, '0002_widget_index': indexWidget, '0003_note': createNote };

/** Tables of this database; on PostgreSQL only those of the current schema (introspection lists all). */
async function tableNames(db: Db): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return tables.map((t) => t.name).sort();
  const current = (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s;
  return tables
    .filter((t) => t.schema === current)
    .map((t) => t.name)
    .sort();
}

async function appliedMigrations(db: Db): Promise<string[]> {
  const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.rows.map((r) => r.name);
}

export function describeDatabaseContract(dialect: DbDialect, open: (migrate: false | Migrations) => Promise<TestDatabase>): void {
  describe(`metadata database contract: ${dialect}`, () => {
    const opened: TestDatabase[] = [];
    const fresh = async (migrate: false | Migrations = false): Promise<TestDatabase> => {
      const t = await open(migrate);
      opened.push(t);
      return t;
    };
    afterEach(async () => {
      for (const t of opened.splice(0)) await t.close();
    });

    it('applies migrations in name order, once; a second run is a no-op', async () => {
      const { db } = await fresh();
      const first = await migrateToLatest(db, undefined, testMigrations);
      expect(first.results?.map((r) => [r.migrationName, r.status])).toEqual([
        ['0001_widget', 'Success'],
        ['0002_widget_index', 'Success'],
        ['0003_note', 'Success'],
      ]);
      expect((await migrateToLatest(db, undefined, testMigrations)).results).toEqual([]);
      expect(await appliedMigrations(db)).toEqual(['0001_widget', '0002_widget_index', '0003_note']);
      expect(await tableNames(db)).toEqual(['kysely_migration', 'kysely_migration_lock', 'note', 'widget']);
    });

    it('a failing migration throws a StorageError naming it and rolls back the whole run', async () => {
      const { db } = await fresh();
      await migrateToLatest(db, undefined, { '0001_widget': createWidget });
      const list = { '0001_widget': createWidget, '0002_widget_index': indexWidget, '0003_broken': broken };
      const err: unknown = await migrateToLatest(db, undefined, list).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).message).toMatch(/'0003_broken' failed: .*table_that_does_not_exist/);
      expect((err as StorageError).details).toEqual({ migration: '0003_broken' });
      // 0002 ran before 0003 in the same run: rolled back with it; 0001 (an earlier run) stays.
      expect(await appliedMigrations(db)).toEqual(['0001_widget']);
      expect(await tableNames(db)).toEqual(['kysely_migration', 'kysely_migration_lock', 'widget']);
      // Fixed, the same database migrates on.
      await migrateToLatest(db, undefined, testMigrations);
      expect(await appliedMigrations(db)).toEqual(['0001_widget', '0002_widget_index', '0003_note']);
    });

    it('refuses a list that lost an applied migration (history must not be rewritten)', async () => {
      const { db } = await fresh(testMigrations);
      const { '0002_widget_index': _gone, ...rest } = testMigrations;
      await expect(migrateToLatest(db, undefined, rest)).rejects.toThrow(/failed before any migration ran: .*0002_widget_index/);
    });

    it('runs the same queries: text ids/timestamps, JSON as text, 0/1 booleans, numeric aggregates', async () => {
      const db = (await fresh(testMigrations)).db.withTables<TestTables>();
      const rows: WidgetTable[] = [
        { id: 'w1', created_at: '2024-01-02T00:00:00.000Z', doc: JSON.stringify({ tags: ['a'], n: 1 }), active: 1, score: 0.5, n: 2 },
        { id: 'w2', created_at: '2024-01-01T00:00:00.000Z', doc: JSON.stringify({ tags: [] }), active: 0, score: null, n: 3 },
        { id: 'w3', created_at: '2024-01-03T00:00:00.000Z', doc: JSON.stringify({ ü: 'ß' }), active: 1, score: 1.25, n: 5 },
      ];
      await db.insertInto('widget').values(rows).execute();
      // Create-only insert: the same ON CONFLICT syntax on both dialects.
      await db
        .insertInto('widget')
        .values({ ...rows[0]!, doc: '{}' })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      await db.insertInto('note').values({ id: 'n1', widget_id: 'w1', body: 'x' }).execute();

      const active = await db.selectFrom('widget').selectAll().where('active', '=', 1).orderBy('created_at', 'desc').execute();
      expect(active.map((r) => r.id)).toEqual(['w3', 'w1']);
      expect(JSON.parse(active[1]!.doc)).toEqual({ tags: ['a'], n: 1 });
      expect(JSON.parse(active[0]!.doc)).toEqual({ ü: 'ß' });
      expect(typeof active[0]!.active).toBe('number');

      const agg = await db
        .selectFrom('widget')
        .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.sum<number>('n').as('total'), eb.fn.sum<number>('score').as('score')])
        .executeTakeFirstOrThrow();
      expect(agg).toEqual({ count: 3, total: 10, score: 1.75 });

      const since = await db.selectFrom('widget').select('id').where('created_at', '>=', '2024-01-02T00:00:00.000Z').orderBy('id').execute();
      expect(since.map((r) => r.id)).toEqual(['w1', 'w3']);

      await db.updateTable('widget').set({ active: 0 }).where('id', '=', 'w3').execute();
      expect((await db.selectFrom('widget').select('id').where('active', '=', 1).execute()).map((r) => r.id)).toEqual(['w1']);

      // Foreign keys are enforced (SQLite needs PRAGMA foreign_keys, set at open).
      await expect(db.insertInto('note').values({ id: 'n2', widget_id: 'nope', body: 'x' }).execute()).rejects.toThrow(/foreign key/i);
      await db.deleteFrom('widget').where('id', '=', 'w1').execute();
      expect(await db.selectFrom('note').selectAll().execute()).toEqual([]);

      // A transaction that throws leaves nothing behind.
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('widget').values({ id: 'w9', created_at: '2024-02-01T00:00:00.000Z', doc: '{}', active: 1, score: 1, n: 1 }).execute();
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await db.selectFrom('widget').select('id').where('id', '=', 'w9').execute()).toEqual([]);
    });
  });
}
