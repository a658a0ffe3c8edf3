// The metadata database contract on a real PostgreSQL ($TEST_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/test), each test in its own throwaway schema.
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';

import { describeDatabaseContract, testMigrations } from '../../test/integration/helpers/db-contract.js';
import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import { migrateToLatest } from './db.js';
import { openTestDatabase } from './testing.js';

const url = await postgresUrlForTests();

describe.skipIf(!url)('PostgreSQL', () => {
  describeDatabaseContract('postgres', (migrate) => openTestDatabase('postgres', { url, migrate }));

  it('works inside its own schema and drops it on close', async () => {
    const t = await openTestDatabase('postgres', { url, migrate: testMigrations });
    const other = await openTestDatabase('postgres', { url, migrate: false });
    try {
      const path = await sql<{ search_path: string }>`show search_path`.execute(t.db);
      expect(path.rows[0]?.search_path).toBe(t.location);
      // The other schema holds none of the first one's tables: runs never collide.
      const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema()`.execute(
        other.db,
      );
      expect(tables.rows).toEqual([]);
    } finally {
      await other.close();
      await t.close();
    }
    const probe = await openTestDatabase('postgres', { url, migrate: false });
    try {
      const left = await sql<{ n: number }>`select count(*)::int as n from information_schema.schemata where schema_name = ${t.location}`.execute(probe.db);
      expect(left.rows[0]?.n).toBe(0);
    } finally {
      await probe.close();
    }
  });

  it('concurrent migrators (two pools) apply each migration exactly once', async () => {
    const t = await openTestDatabase('postgres', { url, migrate: false });
    const a = t.openAnother();
    const b = t.openAnother();
    try {
      const results = await Promise.all([migrateToLatest(a, undefined, testMigrations), migrateToLatest(b, undefined, testMigrations)]);
      const applied = results.flatMap((r) => (r.results ?? []).map((x) => x.migrationName)).sort();
      expect(applied).toEqual(['0001_widget', '0002_widget_index', '0003_note']);
    } finally {
      await a.destroy();
      await b.destroy();
      await t.close();
    }
  });

  it('the application migrations apply to an empty schema and again as a no-op', async () => {
    const t = await openTestDatabase('postgres', { url });
    try {
      expect((await migrateToLatest(t.db)).results).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
