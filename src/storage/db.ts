// The metadata database: SQLite (better-sqlite3, WAL) by default, PostgreSQL when a URL is given —
// one Kysely instance, the same queries for both.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import { StorageError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type DbDialect = 'sqlite' | 'postgres';

export interface DatabaseOptions {
  /** postgres:// or postgresql:// URL; when absent, SQLite at `sqlitePath`. */
  url?: string;
  sqlitePath: string;
}

// int8 (COUNT(*), SUM) comes back as a string from pg; our values fit in a double.
pg.types.setTypeParser(20, (v: string) => Number(v));

export function dialectOf(opts: DatabaseOptions): DbDialect {
  return opts.url && /^postgres(ql)?:\/\//.test(opts.url) ? 'postgres' : 'sqlite';
}

/** Opens the database (no migrations run: see `migrateToLatest`). */
export function openDatabase(opts: DatabaseOptions): Db {
  if (opts.url && dialectOf(opts) !== 'postgres') {
    throw new StorageError(`DATABASE_URL must start with postgres:// or postgresql:// (got '${opts.url.split(':')[0]}:…')`);
  }
  if (dialectOf(opts) === 'postgres') {
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: opts.url, max: 10 }) }) });
  }
  if (opts.sqlitePath !== ':memory:') mkdirSync(dirname(opts.sqlitePath), { recursive: true });
  const sqlite = new BetterSqlite3(opts.sqlitePath);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
}

/** Brings the schema to the latest migration; throws a StorageError naming the failing migration. */
export async function migrateToLatest(db: Db, logger?: Logger): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const result = await migrator.migrateToLatest();
  for (const r of result.results ?? []) {
    if (r.status === 'Success') logger?.info({ migration: r.migrationName }, 'migration applied');
    if (r.status === 'Error') logger?.error({ migration: r.migrationName }, 'migration failed');
  }
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? '(unknown)';
    throw new StorageError(`database migration '${failed}' failed: ${(result.error as Error).message ?? result.error}`, { migration: failed }, { cause: result.error });
  }
  return result;
}
