// The demo bootstrap's files under $SECONDREAD_HOME: the raw archives, the state file written when a bootstrap
// starts (its options; "a demo is being made here"), the marker written last (the demo is complete), and a lock
// so two `npm start`s on one home do not bootstrap at once. Files are written to a temporary name and renamed,
// so a crash never leaves a half-written marker that a later start would take for a complete demo.
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Config } from '../core/config.js';
import { ConflictError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';

export interface DemoPaths {
  dir: string;
  /** The synthetic archives (the demo dataset's raw data). */
  raw: string;
  /** Where the archives are written before they are moved to `raw` in one rename. */
  rawPartial: string;
  /** Written when a bootstrap starts: its options and the store it runs against. */
  state: string;
  /** Written last: the demo is complete (its summary). */
  marker: string;
  lock: string;
  /** The demo users' passwords (mode 0600). */
  credentials: string;
}

export function demoPaths(home: string): DemoPaths {
  const dir = join(home, 'demo');
  return {
    dir,
    raw: join(dir, 'raw'),
    rawPartial: join(dir, 'raw.partial'),
    state: join(dir, 'bootstrap.json'),
    marker: join(dir, 'complete.json'),
    lock: join(dir, 'bootstrap.lock'),
    credentials: join(home, 'demo-credentials.txt'),
  };
}

/**
 * Which metadata DB and object store a demo was made in. The files live in the home, the data may not
 * (DATABASE_URL, OBJECT_STORE_URL): a marker made against another store says nothing about this one. Paths
 * inside the home are written relative to it, so a home that is moved or renamed keeps its demo.
 */
export function storeIdentity(config: Config): string {
  const db = config.database.url ? redactUrl(config.database.url) : `sqlite:${config.database.sqlitePath}`;
  return `${db} ${config.objectStore.url}`.split(config.home).join('$SECONDREAD_HOME');
}

/** Writes a file atomically (temporary name, then rename), with the given mode. */
export async function writeFileAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await rename(tmp, path);
}

/** A JSON file, or undefined when it is missing or unreadable (a torn or foreign file counts as absent). */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the bootstrap lock (a file holding this process's id) and returns its release. A lock left by a
 * process that no longer runs (a crash, kill -9) is taken over; one held by a live process is a ConflictError.
 */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
        throw new ConflictError(`another demo bootstrap is running in this home (process ${holder}); wait for it, or start with --no-demo`, { pid: holder });
      }
      await rm(path, { force: true });
    }
  }
  throw new ConflictError(`could not take the demo bootstrap lock ${path}`);
}
