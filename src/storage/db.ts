// The metadata database: SQLite (better-sqlite3, WAL) by default, PostgreSQL when a URL is given —
// one Kysely instance, the same queries for both.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import BetterSqlite3 from 'better-sqlite3';
import {
  Kysely,
  type Migration,
  type MigrationResultSet,
  Migrator,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  sql,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
} from 'kysely';
import pg from 'pg';

import { StorageError, StorageFullError, StorageUnavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { migrations as allMigrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type DbDialect = 'sqlite' | 'postgres';
export type Migrations = Record<string, Migration>;

export interface DatabaseOptions {
  /** postgres:// or postgresql:// URL; when absent, SQLite at `sqlitePath`. */
  url?: string;
  sqlitePath: string;
  /** PostgreSQL only: the schema to work in (first on search_path), e.g. one throwaway schema per test run. */
  schema?: string;
  /** PostgreSQL only: connections in the pool. */
  poolSize?: number;
  /** Receives errors of idle pooled connections (PostgreSQL restarts, network drops). */
  logger?: Logger;
  /** PostgreSQL only: how long opening a connection may take before the request fails (default 5000 ms). */
  connectTimeoutMs?: number;
}

// int8 (COUNT(*), SUM of integers) comes back as a string from pg; our values fit in a double
// (exact below 2^53), and SQLite returns numbers for the same queries.
pg.types.setTypeParser(20, (v: string) => Number(v));

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function dialectOf(opts: Pick<DatabaseOptions, 'url'>): DbDialect {
  return opts.url && /^postgres(ql)?:\/\//.test(opts.url) ? 'postgres' : 'sqlite';
}

/** Opens the database (no migrations run: see `migrateToLatest`). */
export function openDatabase(opts: DatabaseOptions): Db {
  if (opts.url && dialectOf(opts) !== 'postgres') {
    // Only the scheme is echoed: the rest of a URL may hold a password.
    throw new StorageError(`DATABASE_URL must start with postgres:// or postgresql:// (got '${opts.url.split(':')[0]}:…')`);
  }
  return dialectOf(opts) === 'postgres' ? openPostgres(opts) : openSqlite(opts.sqlitePath);
}

function openPostgres(opts: DatabaseOptions): Db {
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new StorageError(`invalid PostgreSQL schema name '${opts.schema}' (lower-case letters, digits, '_')`);
  }
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    options: opts.schema ? `-c search_path=${opts.schema}` : undefined,
    // Without it a server that stopped answering (not refusing) would hold every request forever.
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
  });
  // Without a listener, an idle client's error (server restart) would crash the process; the pool
  // drops that client and the next query opens a fresh one.
  pool.on('error', (err) => opts.logger?.warn({ err: err.message }, 'idle PostgreSQL connection failed'));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: availabilityGuarded(pool) }) });
}

/**
 * SQLSTATEs and socket errors that mean "the server cannot be reached or is going away", not "this
 * query is wrong": class 08 (connection exception), 57P01-03 (admin shutdown, crash shutdown, cannot
 * connect now), 53300 (too many connections).
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
// pg reports a dropped socket and a connect timeout without a code; these are its messages.
const UNAVAILABLE_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended)/;

/** True when a PostgreSQL error says the database is unreachable (retrying later may succeed). */
export function isPostgresUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message);
}

function unavailableOr(err: unknown): unknown {
  if (!isPostgresUnavailable(err)) return err;
  return new StorageUnavailableError(`the database is unavailable: ${(err as Error).message.split('\n')[0]}`, undefined, { cause: err });
}

/**
 * The pool as Kysely sees it, with "database unreachable" errors (from connecting and from queries on a
 * connection that broke) turned into StorageUnavailableError, so the API answers 503 + Retry-After
 * instead of a 500, and every caller sees one typed error whatever pg's wording. The pool itself
 * reconnects on the next request: recovery needs no restart.
 */
function availabilityGuarded(pool: pg.Pool): PostgresPool {
  // Kysely keys its connection objects by client identity: one wrapper per pg client.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let w = wrappers.get(client);
    if (!w) {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      w = {
        query: ((...args: unknown[]) => {
          const r = query(...args);
          // A cursor (streaming) is returned as is; a plain query is a promise.
          return r instanceof Promise ? r.catch((err: unknown) => Promise.reject(unavailableOr(err))) : r;
        }) as PostgresPoolClient['query'],
        release: () => client.release(),
      };
      wrappers.set(client, w);
    }
    return w;
  };
  return {
    connect: async () => {
      try {
        return wrap(await pool.connect());
      } catch (err) {
        throw unavailableOr(err);
      }
    },
    end: () => pool.end(),
  };
}

function openSqlite(path: string): Db {
  let sqlite: BetterSqlite3.Database;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    sqlite = new BetterSqlite3(path);
  } catch (err) {
    throw new StorageError(`cannot open SQLite database '${path}': ${(err as Error).message}`, { path }, { cause: err });
  }
  try {
    // WAL: readers never block the writer and a crash never corrupts; other processes (the worker,
    // a CLI command) can use the same file concurrently.
    const mode = String(sqlite.pragma('journal_mode = WAL', { simple: true }));
    if (path !== ':memory:' && mode.toLowerCase() !== 'wal') {
      throw new Error(`the filesystem does not support WAL mode (journal_mode stayed '${mode}')`);
    }
    sqlite.pragma('synchronous = NORMAL'); // durable with WAL except for the last commits on power loss
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000'); // wait for another process's write instead of failing at once
  } catch (err) {
    sqlite.close();
    throw new StorageError(`cannot use SQLite database '${path}': ${(err as Error).message}`, { path }, { cause: err });
  }
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqliteGuarded(sqlite) }) });
}

/**
 * SQLite's "disk full" and "still locked after busy_timeout" as typed errors (507 storage_full, 503
 * storage_unavailable + Retry-After) instead of a 500: the first needs an operator, the second a retry.
 * Other errors (constraints, bugs) pass through unchanged.
 */
function sqliteError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_FULL') return new StorageFullError(`the database is out of space: ${(err as Error).message}`, undefined, { cause: err });
  if (code === 'SQLITE_BUSY')
    return new StorageUnavailableError(`the database is locked by another writer: ${(err as Error).message}`, undefined, { cause: err });
  return err;
}

function mapSqlite<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw sqliteError(err);
  }
}

function sqliteGuarded(sqlite: BetterSqlite3.Database): SqliteDatabase {
  return {
    close: () => sqlite.close(),
    prepare: (query: string): SqliteStatement => {
      const st = mapSqlite(() => sqlite.prepare(query));
      return {
        reader: st.reader,
        all: (params) => mapSqlite(() => st.all(params)),
        run: (params) => mapSqlite(() => st.run(params)),
        iterate: (params) => mapSqlite(() => st.iterate(params)),
      };
    },
  };
}

/**
 * Brings the schema to the latest migration (`list` defaults to the application's migrations);
 * throws a StorageError naming the failing migration. All pending migrations run in one
 * transaction on both dialects, so a failure leaves the schema as it was, and processes that start
 * together (API, worker) apply each migration once: PostgreSQL serializes them with an advisory
 * lock, SQLite with `BEGIN IMMEDIATE` (the others wait up to busy_timeout).
 */
export async function migrateToLatest(db: Db, logger?: Logger, list: Migrations = allMigrations): Promise<MigrationResultSet> {
  const provider = { getMigrations: async () => list };
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  const result = await (sqlite ? migrateSqliteAtomically(db, provider) : migratePostgres(db, provider));
  if (!result.error) {
    for (const r of result.results ?? []) logger?.info({ migration: r.migrationName }, 'migration applied');
    return result;
  }
  // The transaction rolled back: results marked 'Success' before the failure were undone too.
  const message = result.error instanceof Error ? result.error.message : String(result.error);
  const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
  logger?.error({ migration: failed, err: message }, 'migration failed; pending migrations rolled back');
  if (failed === undefined) {
    throw new StorageError(`database migration failed before any migration ran: ${message}`, undefined, { cause: result.error });
  }
  throw new StorageError(`database migration '${failed}' failed: ${message}`, { migration: failed }, { cause: result.error });
}

/**
 * Kysely decides whether its bookkeeping tables exist by looking in every schema; with another
 * schema already holding them (another deployment, a parallel test run) it would skip creating
 * ours. Pinning them to the current schema (first on search_path) keeps each schema self-contained.
 */
async function migratePostgres(db: Db, provider: { getMigrations(): Promise<Migrations> }): Promise<MigrationResultSet> {
  let schema: string | null | undefined;
  try {
    schema = (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)).rows[0]?.schema;
  } catch (err) {
    return { error: err };
  }
  if (!schema) return { error: new Error('no schema on search_path exists (check the schema / search_path setting)') };
  return new Migrator({ db, provider, migrationTableSchema: schema }).migrateToLatest();
}

/**
 * Kysely runs SQLite migrations without a transaction (its adapter declares no transactional DDL,
 * though SQLite has it) and without a cross-process lock. Run them on one connection inside
 * BEGIN IMMEDIATE, which takes the write lock up front: atomic, and serialized between processes.
 */
async function migrateSqliteAtomically(db: Db, provider: { getMigrations(): Promise<Migrations> }): Promise<MigrationResultSet> {
  return db.connection().execute(async (conn) => {
    try {
      await sql`begin immediate`.execute(conn);
    } catch (err) {
      return { error: err };
    }
    let result: MigrationResultSet;
    try {
      result = await new Migrator({ db: conn, provider }).migrateToLatest();
    } catch (err) {
      result = { error: err };
    }
    if (!result.error) {
      await sql`commit`.execute(conn);
    } else {
      // Some errors (disk full, I/O) make SQLite roll back by itself; then there is nothing to undo.
      await sql`rollback`.execute(conn).catch(() => undefined);
    }
    return result;
  });
}
