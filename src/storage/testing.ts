// Fresh, isolated databases for tests, of either dialect: SQLite in a temp directory, or a
// throwaway schema in a real PostgreSQL (so parallel and earlier runs never collide). Used by the
// unit tier (SQLite) and the integration tier (PostgreSQL) alike; nothing here imports vitest.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import { StorageError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';
import { type Db, type DbDialect, migrateToLatest, type Migrations, openDatabase } from './db.js';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  db: Db;
  dialect: DbDialect;
  /** SQLite: the file; PostgreSQL: the schema. */
  location: string;
  /** A second, independent connection (pool) to the same database, e.g. to test concurrency. */
  openAnother(): Db;
  /** Closes the connections and deletes the file / drops the schema. */
  close(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** PostgreSQL URL (default $TEST_DATABASE_URL, then DEFAULT_TEST_DATABASE_URL). */
  url?: string;
  /** true (default): the application's migrations; a map: those; false: an empty database. */
  migrate?: boolean | Migrations;
}

export function testDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
}

export async function openTestDatabase(dialect: DbDialect, opts: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const t = dialect === 'sqlite' ? openSqliteTestDatabase() : await openPostgresTestDatabase(opts.url ?? testDatabaseUrl());
  try {
    const list = typeof opts.migrate === 'object' ? opts.migrate : undefined; // undefined: the application's
    if (opts.migrate !== false) await migrateToLatest(t.db, undefined, list);
  } catch (err) {
    await t.close();
    throw err;
  }
  return t;
}

function openSqliteTestDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'secondread-db-'));
  const file = join(dir, 'secondread.db');
  const db = openDatabase({ sqlitePath: file });
  return {
    db,
    dialect: 'sqlite',
    location: file,
    openAnother: () => openDatabase({ sqlitePath: file }),
    close: async () => {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const SCHEMA_PREFIX = 'sr_test_';
/** Schemas of runs that died without cleaning up are dropped once they are this old. */
const ABANDONED_AFTER_MS = 6 * 60 * 60 * 1000;
let swept = false;

async function openPostgresTestDatabase(url: string): Promise<TestDatabase> {
  if (!swept) {
    swept = true;
    await dropAbandonedSchemas(url);
  }
  // The creation time in the name lets a later run recognise an abandoned schema.
  const schema = `${SCHEMA_PREFIX}${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await admin(url, `create schema ${schema}`);
  const db = openDatabase({ url, sqlitePath: '', schema, poolSize: 4 });
  return {
    db,
    dialect: 'postgres',
    location: schema,
    openAnother: () => openDatabase({ url, sqlitePath: '', schema, poolSize: 4 }),
    close: async () => {
      await db.destroy();
      await admin(url, `drop schema if exists ${schema} cascade`);
    },
  };
}

async function dropAbandonedSchemas(url: string): Promise<void> {
  const rows = await admin(url, `select schema_name from information_schema.schemata where schema_name like '${SCHEMA_PREFIX}%'`);
  for (const { schema_name: name } of rows as { schema_name: string }[]) {
    const created = parseInt(name.slice(SCHEMA_PREFIX.length).split('_')[0] ?? '', 36);
    if (Number.isFinite(created) && Date.now() - created > ABANDONED_AFTER_MS) await admin(url, `drop schema if exists ${name} cascade`);
  }
}

/** Runs one statement on its own connection (schema DDL, outside any test's pool); returns its rows. */
async function admin(url: string, statement: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    return (await client.query(statement)).rows;
  } catch (err) {
    throw new StorageError(`test PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}`, undefined, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
}
