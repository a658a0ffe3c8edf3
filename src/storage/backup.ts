// Backup and restore of the embedded default's state: the SQLite metadata database and the object store.
//
// Consistency: the database is copied first, with SQLite's online backup API (a consistent snapshot even
// while `serve` writes: WAL readers never block), then the objects. Objects are written before the rows
// that name them and are never changed once written, so every object the snapshot refers to already
// exists when the copy of the objects starts; objects created after the snapshot are copied too and are
// harmless extras. A backup is a directory:
//   backup.json      the manifest (format, when, row counts of the clinical tables, object count and bytes)
//   secondread.db    the database snapshot
//   objects/         the objects, as a filesystem object store
// PostgreSQL deployments back up their database with pg_dump (docs/operations.md); the object copy here
// works for any store, S3 included.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import BetterSqlite3 from 'better-sqlite3';

import { StorageError } from '../core/errors.js';
import { noProgress, type ProgressFn } from '../core/progress.js';
import type { ObjectStore } from './object-store.js';

export const BACKUP_FORMAT = 'secondread-backup/1';
export const BACKUP_MANIFEST = 'backup.json';
export const BACKUP_DATABASE = 'secondread.db';
export const BACKUP_OBJECTS = 'objects';

/** Tables whose row counts the manifest keeps, so a restore can be checked against them. */
const COUNTED_TABLES = ['studies', 'reads', 'audit_log', 'dataset_versions', 'runs', 'model_versions'] as const;

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  createdAt: string;
  database: { file: string; bytes: number; sha256: string; rows: Record<string, number> };
  objects: { count: number; bytes: number };
  /** Extra files of the home saved beside (e.g. the de-identification key). */
  files: string[];
}

/** Copies a live SQLite database to `destPath` with the online backup API. */
export async function backupSqlite(sourcePath: string, destPath: string, onProgress: ProgressFn = noProgress): Promise<void> {
  let source: BetterSqlite3.Database;
  try {
    source = new BetterSqlite3(sourcePath, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new StorageError(`cannot open the database to back up ('${sourcePath}'): ${(err as Error).message}`, { path: sourcePath }, { cause: err });
  }
  try {
    await source.backup(destPath, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress({ phase: 'database', done: totalPages - remainingPages, total: totalPages });
        return 1024; // pages per step: small steps let a concurrent writer in
      },
    });
  } finally {
    source.close();
  }
}

/** Row counts of the clinical and lineage tables in a SQLite file (tables that do not exist count 0). */
export function countRows(sqlitePath: string): Record<string, number> {
  const db = new BetterSqlite3(sqlitePath, { readonly: true, fileMustExist: true });
  try {
    const present = new Set((db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map((r) => r.name));
    return Object.fromEntries(COUNTED_TABLES.map((t) => [t, present.has(t) ? (db.prepare(`select count(*) as n from "${t}"`).get() as { n: number }).n : 0]));
  } finally {
    db.close();
  }
}

/** Copies every object of `from` to `to` (create-only: an object already there with the same size is skipped). */
export async function copyObjects(from: ObjectStore, to: ObjectStore, onProgress: ProgressFn = noProgress): Promise<{ count: number; bytes: number }> {
  const infos = [];
  for await (const info of from.list('')) infos.push(info);
  let bytes = 0;
  for (const [i, info] of infos.entries()) {
    const existing = await to.head(info.key);
    if (!existing || existing.size !== info.size) await to.put(info.key, await from.get(info.key), { contentType: info.contentType });
    bytes += info.size;
    onProgress({ phase: 'objects', done: i + 1, total: infos.length });
  }
  return { count: infos.length, bytes };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function writeManifest(dir: string, manifest: BackupManifest): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, BACKUP_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Reads and checks a backup directory's manifest and database file (its sha256 must match). */
export async function readBackup(dir: string): Promise<BackupManifest> {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, BACKUP_MANIFEST), 'utf8')) as BackupManifest;
  } catch (err) {
    throw new StorageError(`'${dir}' is not a secondread backup (no readable ${BACKUP_MANIFEST}): ${(err as Error).message}`, { dir }, { cause: err });
  }
  if (manifest.format !== BACKUP_FORMAT) throw new StorageError(`unknown backup format '${String(manifest.format)}' (this version reads ${BACKUP_FORMAT})`);
  const db = join(dir, BACKUP_DATABASE);
  const size = (await stat(db).catch(() => undefined))?.size;
  if (size !== manifest.database.bytes || (await sha256File(db)) !== manifest.database.sha256)
    throw new StorageError(`the backup's database file does not match its manifest (damaged or edited backup): ${db}`, { dir });
  return manifest;
}
