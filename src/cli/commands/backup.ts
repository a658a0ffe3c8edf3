// `secondread backup <dir>` and `secondread restore <dir>`: a consistent copy of the embedded default's
// state (SQLite database, object store, de-identification key) and its restore into an empty home, checked
// afterwards (audit chain verified, row counts equal the backup's). See storage/backup.ts for why the copy
// is consistent while `serve` runs, and docs/operations.md for PostgreSQL (pg_dump).
import { chmod, copyFile, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import type { Command } from 'commander';

import { ConfigError, StorageError } from '../../core/errors.js';
import {
  BACKUP_DATABASE,
  BACKUP_FORMAT,
  BACKUP_OBJECTS,
  backupSqlite,
  copyObjects,
  countRows,
  readBackup,
  sha256File,
  writeManifest,
} from '../../storage/backup.js';
import { dialectOf } from '../../storage/db.js';
import { FsObjectStore } from '../../storage/fs-object-store.js';
import { verifyAuditLog } from '../../workflow/audit.js';
import { AuditChainError } from '../../workflow/errors.js';
import { type CliContext, withContext } from '../context.js';
import { createProgressRenderer } from '../progress.js';
import { print, printJson } from './runs.js';

/** Files of the home that belong in a backup besides the database and the objects. */
const HOME_FILES = ['deid.key'];

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description(
      'copy the database, the object store and the de-identification key to <dir> (consistent while serve runs; SQLite only — use pg_dump for PostgreSQL)',
    )
    .argument('<dir>', 'a new or empty directory; it will hold patient data and the de-identification key: keep it as safe as the home')
    .option('--json', 'print the manifest as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        assertSqlite(ctx, 'backup');
        await assertEmptyDir(dir, 'backup');
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const progress = createProgressRenderer();
        try {
          const dbCopy = join(dir, BACKUP_DATABASE);
          await backupSqlite(ctx.config.database.sqlitePath, dbCopy, progress.onProgress);
          const rows = countRows(dbCopy);
          const objects = await copyObjects(ctx.objects(), new FsObjectStore(join(dir, BACKUP_OBJECTS)), progress.onProgress);
          const files: string[] = [];
          for (const name of HOME_FILES) {
            const from = join(ctx.config.home, name);
            if (!(await exists(from))) continue;
            await copyFile(from, join(dir, name));
            await chmod(join(dir, name), 0o600);
            files.push(name);
          }
          const manifest = {
            format: BACKUP_FORMAT,
            createdAt: new Date().toISOString(),
            database: { file: BACKUP_DATABASE, bytes: (await stat(dbCopy)).size, sha256: await sha256File(dbCopy), rows },
            objects,
            files,
          } as const;
          await writeManifest(dir, manifest);
          progress.stop();
          if (opts.json) return printJson(manifest);
          print(
            `backup written to ${dir}: ${rows.studies} studies, ${rows.reads} reads, ${rows.audit_log} audit entries, ` +
              `${objects.count} objects (${(objects.bytes / 1e6).toFixed(1)} MB)${files.length ? `, ${files.join(', ')}` : ''}`,
          );
        } finally {
          progress.stop();
        }
      });
    });

  program
    .command('restore')
    .description('restore a backup made by `secondread backup` into an empty home, then verify the audit chain and the row counts')
    .argument('<dir>', 'the backup directory')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        assertSqlite(ctx, 'restore');
        const manifest = await readBackup(dir);
        const target = ctx.config.database.sqlitePath;
        if (await exists(target))
          throw new ConfigError(`restore needs an empty home: the database ${target} already exists (point SECONDREAD_HOME at a new directory)`);
        for await (const first of ctx.objects().list('')) {
          throw new ConfigError(`restore needs an empty object store: ${ctx.objects().describe()} already holds ${first.key}`);
        }
        for (const name of manifest.files) {
          const to = join(ctx.config.home, name);
          if (await exists(to)) {
            const same = Buffer.compare(await readFile(to), await readFile(join(dir, name))) === 0;
            if (!same) throw new ConfigError(`${to} exists and differs from the backup's: remove it or restore into a new home`);
          }
        }
        await mkdir(dirname(target), { recursive: true });
        const progress = createProgressRenderer();
        try {
          await copyFile(join(dir, BACKUP_DATABASE), target);
          for (const name of manifest.files) {
            await copyFile(join(dir, name), join(ctx.config.home, name));
            await chmod(join(ctx.config.home, name), 0o600);
          }
          const objects = await copyObjects(new FsObjectStore(join(dir, BACKUP_OBJECTS)), ctx.objects(), progress.onProgress);
          progress.stop();
          const audit = await verifyAuditLog(await ctx.db()); // ctx.db() also brings an older backup's schema up to date
          if (!audit.ok)
            throw new AuditChainError(`the restored audit log does not verify at seq ${audit.seq} (${audit.reason}): ${audit.message}`, {
              seq: audit.seq,
              reason: audit.reason,
            });
          const rows = countRows(target);
          const differing = Object.entries(manifest.database.rows).filter(([t, n]) => rows[t] !== n);
          if (differing.length)
            throw new StorageError(`restored row counts differ from the backup's: ${differing.map(([t, n]) => `${t} ${rows[t]} ≠ ${n}`).join(', ')}`);
          if (objects.count < manifest.objects.count) throw new StorageError(`restored ${objects.count} objects, the backup lists ${manifest.objects.count}`);
          const result = { restoredFrom: dir, backupCreatedAt: manifest.createdAt, rows, objects, auditEntriesVerified: audit.entries };
          if (opts.json) return printJson(result);
          print(
            `restored ${dir} (backup of ${manifest.createdAt}): ${rows.studies} studies, ${rows.reads} reads, ` +
              `${audit.entries} audit entries verified, ${objects.count} objects`,
          );
        } finally {
          progress.stop();
        }
      });
    });
}

function assertSqlite(ctx: CliContext, what: 'backup' | 'restore'): void {
  if (dialectOf(ctx.config.database) === 'postgres')
    throw new ConfigError(`${what} covers the embedded SQLite database; with PostgreSQL use pg_dump/pg_restore and copy the object store (docs/operations.md)`);
}

async function assertEmptyDir(dir: string, what: string): Promise<void> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new ConfigError(`cannot use ${dir} for the ${what}: ${err.message}`);
  });
  if (entries.length) throw new ConfigError(`${dir} is not empty: a ${what} goes into a new or empty directory`);
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
