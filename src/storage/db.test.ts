// The metadata DB on SQLite: opening (WAL, foreign keys), migrations applied once even by racing processes,
// errors that name the path and never echo credentials, and the shared DB contract (test/integration/helpers).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';

import { describeDatabaseContract } from '../../test/integration/helpers/db-contract.js';
import { StorageError, StorageUnavailableError } from '../core/errors.js';
import { runTsChild } from '../core/testing.js';
import { dialectOf, isPostgresUnavailable, migrateToLatest, openDatabase } from './db.js';
import { openTestDatabase } from './testing.js';

describeDatabaseContract('sqlite', (migrate) => openTestDatabase('sqlite', { migrate }));

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'secondread-dbtest-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('openDatabase (SQLite)', () => {
  it('creates the file and its directory, in WAL mode with foreign keys on', async () => {
    const path = join(await tempDir(), 'nested', 'dir', 'secondread.db');
    const db = openDatabase({ sqlitePath: path });
    try {
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
      expect(mode.rows[0]?.journal_mode).toBe('wal');
      const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
      expect(fk.rows[0]?.foreign_keys).toBe(1);
    } finally {
      await db.destroy();
    }
  });

  it('applies the application migrations idempotently (whatever the list holds today)', async () => {
    const t = await openTestDatabase('sqlite');
    try {
      expect((await migrateToLatest(t.db)).results).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('wraps an unusable path in a StorageError naming it', async () => {
    const dir = await tempDir();
    const notADb = join(dir, 'garbage.db');
    await writeFile(notADb, 'this is not a database, just text that is long enough to be read as a header');
    expect(() => openDatabase({ sqlitePath: notADb })).toThrow(StorageError);
    expect(() => openDatabase({ sqlitePath: notADb })).toThrow(/garbage\.db/);
    expect(() => openDatabase({ sqlitePath: join(notADb, 'below-a-file.db') })).toThrow(StorageError);
  });

  it('rejects a non-PostgreSQL DATABASE_URL without echoing its credentials', () => {
    expect(dialectOf({ url: 'postgresql://x' })).toBe('postgres');
    expect(dialectOf({})).toBe('sqlite');
    expect(() => openDatabase({ url: 'mysql://root:hunter2@db/x', sqlitePath: '' })).toThrow(StorageError);
    expect(() => openDatabase({ url: 'mysql://root:hunter2@db/x', sqlitePath: '' })).not.toThrow(/hunter2/);
    expect(() => openDatabase({ url: 'postgres://db/x', sqlitePath: '', schema: 'Bad-Name' })).toThrow(/schema name/);
  });

  it('processes that migrate the same file at once apply each migration exactly once', async () => {
    const path = join(await tempDir(), 'shared.db');
    const child = fileURLToPath(new URL('./testdata/migrate-child.ts', import.meta.url));
    const runs = await Promise.all(Array.from({ length: 3 }, () => runTsChild(child, [path])));
    for (const r of runs) expect(r.code, r.err).toBe(0);
    const applied = runs.flatMap((r) => JSON.parse(r.out) as string[]).sort();
    expect(applied).toEqual(['0001_a', '0002_b', '0003_c']);
  });
});

describe('PostgreSQL unreachable', () => {
  it('a refused connection is StorageUnavailableError (503 storage_unavailable with a retry hint), not a raw pg error', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const db = openDatabase({ url: 'postgres://nobody@127.0.0.1:1/none', sqlitePath: '', connectTimeoutMs: 2000 });
    try {
      const err = await sql`select 1`.execute(db).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect(err).toMatchObject({ code: 'storage_unavailable', httpStatus: 503, details: { retryAfterSeconds: 2 } });
    } finally {
      await db.destroy();
    }
  });

  it('isPostgresUnavailable: connection failures yes, query errors no', () => {
    expect(isPostgresUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isPostgresUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isPostgresUnavailable(Object.assign(new Error('connection failure'), { code: '08006' }))).toBe(true);
    expect(isPostgresUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isPostgresUnavailable(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(isPostgresUnavailable(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
  });
});

describe('SQLite out of space or locked', () => {
  it('a full database is StorageFullError (507); a write lock held past busy_timeout is StorageUnavailableError (503)', async () => {
    const file = join(await tempDir(), 'full.db');
    const db = openDatabase({ sqlitePath: file });
    const other = openDatabase({ sqlitePath: file });
    try {
      await sql`create table blobs (b blob)`.execute(db);
      // max_page_count caps the file where it is: the next page the insert needs is "disk full" (SQLITE_FULL).
      const pages = (await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows[0]!.page_count;
      await sql.raw(`pragma max_page_count = ${pages}`).execute(db);
      await expect(sql`insert into blobs values (${Buffer.alloc(64 * 1024)})`.execute(db)).rejects.toMatchObject({ code: 'storage_full', httpStatus: 507 });
      await sql.raw('pragma max_page_count = 1073741823').execute(db);

      await sql`pragma busy_timeout = 50`.execute(other);
      await sql`begin immediate`.execute(db);
      const locked = await sql`insert into blobs values (x'00')`.execute(other).then(
        () => undefined,
        (e: unknown) => e,
      );
      await sql`commit`.execute(db);
      expect(locked).toBeInstanceOf(StorageUnavailableError);
      expect(locked).toMatchObject({ code: 'storage_unavailable', httpStatus: 503 });
      // Other errors stay what they were.
      await expect(sql`insert into no_such_table values (1)`.execute(db)).rejects.toThrow(/no such table/);
    } finally {
      await other.destroy();
      await db.destroy();
    }
  });
});
