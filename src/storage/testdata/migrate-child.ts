// Test fixture for db.test.ts: migrates the SQLite file at argv[2] with a private, deliberately slow
// migration list, and prints the names it applied as JSON, so the parent can race several processes.
import { setTimeout as sleep } from 'node:timers/promises';

import type { Migration } from 'kysely';

import { migrateToLatest, openDatabase } from '../db.js';

const slowTable = (name: string): Migration => ({
  up: async (db) => {
    await db.schema
      .createTable(name)
      .addColumn('id', 'text', (c) => c.primaryKey())
      .execute();
    await sleep(150); // hold the write lock a while, so the racers really overlap
  },
});

const path = process.argv[2];
if (!path) throw new Error('usage: migrate-child.ts <sqlite path>');
const db = openDatabase({ sqlitePath: path });
try {
  const result = await migrateToLatest(db, undefined, { '0001_a': slowTable('a'), '0002_b': slowTable('b'), '0003_c': slowTable('c') });
  process.stdout.write(JSON.stringify((result.results ?? []).map((r) => r.migrationName)));
} finally {
  await db.destroy();
}
