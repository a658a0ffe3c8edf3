// The filesystem object store (embedded default): key `a/b/c.png` is the file `<root>/a/b/c.png`, so
// the tree stays readable with ordinary tools. Every write goes to `<root>/.tmp/<random>` (same
// filesystem), is fsynced, then renamed (or, for create-only puts, hard-linked) into place, so a
// reader — or a process that restarts after a crash — sees the whole object or none of it.
import { randomBytes } from 'node:crypto';
import { type FileHandle, link, mkdir, open, readdir, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

import { ConflictError, NotFoundError, SecondreadError, StorageError, StorageFullError } from '../core/errors.js';
import { assertValidKey, assertValidPrefix, compareKeys, isValidKey, RESERVED_TOP_SEGMENT } from './object-key.js';
import type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';

/** Temp files older than this are leftovers of crashed writers, removed on the first write. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;
/** A concurrent delete may prune the parent directory between our mkdir and rename: retry that many times. */
const PARENT_RETRIES = 8;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export class FsObjectStore implements ObjectStore {
  readonly root: string;
  private readonly tmpDir: string;
  private tmpReady?: Promise<void>;

  constructor(root: string) {
    this.root = resolve(root);
    this.tmpDir = resolve(this.root, RESERVED_TOP_SEGMENT);
  }

  /** The file that holds `key`; never outside the root, whatever the key. */
  private pathOf(key: string): string {
    assertValidKey(key);
    const p = resolve(this.root, ...key.split('/'));
    // Validation already forbids '..' and absolute keys; this is the second lock on the same door.
    if (!p.startsWith(this.root + sep)) throw new StorageError(`object key '${key}' resolves outside the store root`, { key });
    return p;
  }

  async put(key: string, body: ObjectBody, opts: PutOptions = {}): Promise<ObjectInfo> {
    const target = this.pathOf(key);
    await this.ensureTmpDir();
    const tmp = resolve(this.tmpDir, randomBytes(12).toString('hex'));
    try {
      const { size, mtime } = await this.writeDurably(tmp, body);
      await this.moveIntoPlace(key, tmp, target, opts.ifNotExists === true);
      await syncDir(dirname(target));
      return { key, size, lastModified: mtime, contentType: opts.contentType };
    } catch (err) {
      if (body instanceof Readable) body.destroy();
      await unlink(tmp).catch(() => undefined);
      throw objectStoreError(err, `writing object '${key}'`, key);
    }
  }

  async get(key: string): Promise<Readable> {
    // Open first so an absent key fails here, not as an 'error' event on the stream later. An open
    // descriptor keeps reading the version it opened even if a put replaces the object meanwhile.
    const fh = await this.openForRead(key);
    return fh.createReadStream();
  }

  async getBytes(key: string): Promise<Buffer> {
    const fh = await this.openForRead(key);
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    try {
      const st = await stat(path);
      return st.isFile() ? { key, size: st.size, lastModified: st.mtime } : undefined;
    } catch (err) {
      if (isAbsent(err)) return undefined;
      throw objectStoreError(err, `reading metadata of object '${key}'`, key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    // Start at the deepest directory the prefix fully names; deeper levels are pruned by prefix.
    const slash = prefix.lastIndexOf('/');
    yield* this.walk(slash < 0 ? '' : prefix.slice(0, slash), prefix);
  }

  private async *walk(dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const dir = dirKey === '' ? this.root : this.pathOf(dirKey);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isAbsent(err)) return;
      throw objectStoreError(err, `listing '${prefix}'`, prefix);
    }
    // Sorting a directory's names with '/' appended to subdirectories yields full keys in byte
    // order: every key below `a/` sorts exactly where the string `a/` sorts among its siblings.
    const items = entries
      .filter((e) => e.isFile() || e.isDirectory())
      .filter((e) => !(dirKey === '' && e.name === RESERVED_TOP_SEGMENT))
      .map((e) => ({ key: dirKey === '' ? e.name : `${dirKey}/${e.name}`, isDir: e.isDirectory() }))
      .filter((e) => isValidKey(e.key))
      .sort((a, b) => compareKeys(a.isDir ? `${a.key}/` : a.key, b.isDir ? `${b.key}/` : b.key));
    for (const item of items) {
      if (item.isDir) {
        const asPrefix = `${item.key}/`;
        if (asPrefix.startsWith(prefix) || prefix.startsWith(asPrefix)) yield* this.walk(item.key, prefix);
      } else if (item.key.startsWith(prefix)) {
        const info = await this.head(item.key);
        if (info) yield info; // undefined: deleted since readdir
      }
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      // EISDIR/EPERM: the key names a directory of other objects, i.e. no object of its own.
      if (isAbsent(err) || errno(err) === 'EISDIR' || errno(err) === 'EPERM') return;
      throw objectStoreError(err, `deleting object '${key}'`, key);
    }
    await this.pruneEmptyParents(dirname(path));
  }

  describe(): string {
    return pathToFileURL(this.root).href;
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  private async openForRead(key: string): Promise<FileHandle> {
    const path = this.pathOf(key);
    try {
      const fh = await open(path, 'r');
      if (!(await fh.stat()).isFile()) {
        await fh.close();
        throw new NotFoundError('object', key);
      }
      return fh;
    } catch (err) {
      if (isAbsent(err) || errno(err) === 'EISDIR') throw new NotFoundError('object', key);
      throw objectStoreError(err, `reading object '${key}'`, key);
    }
  }

  /** Writes the body to a new file and fsyncs it, so the rename that follows publishes durable bytes. */
  private async writeDurably(path: string, body: ObjectBody): Promise<{ size: number; mtime: Date }> {
    const fh = await open(path, 'wx', 0o644);
    try {
      await writeFile(fh, body); // loops over partial writes and awaits the stream's backpressure
      await fh.sync();
      const st = await fh.stat();
      return { size: st.size, mtime: st.mtime };
    } finally {
      await fh.close();
    }
  }

  private async moveIntoPlace(key: string, tmp: string, target: string, createOnly: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(dirname(target), { recursive: true });
        if (createOnly) {
          // link() fails with EEXIST when the name exists, atomically: of two racing creators
          // exactly one wins, unlike a stat-then-rename.
          await link(tmp, target);
          await unlink(tmp);
        } else {
          await rename(tmp, target);
        }
        return;
      } catch (err) {
        const code = errno(err);
        if (code === 'ENOENT' && attempt < PARENT_RETRIES) continue;
        if (code === 'EEXIST' && createOnly) throw new ConflictError(`object '${key}' already exists`, { key });
        if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') {
          throw new ConflictError(`object key '${key}' clashes with another object: the filesystem store cannot hold both 'x' and 'x/…'`, { key });
        }
        throw err;
      }
    }
  }

  private async pruneEmptyParents(dir: string): Promise<void> {
    while (dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone): stop
      }
      dir = dirname(dir);
    }
  }

  private ensureTmpDir(): Promise<void> {
    this.tmpReady ??= (async () => {
      await mkdir(this.tmpDir, { recursive: true });
      await this.removeStaleTempFiles(STALE_TEMP_MS);
    })().catch((err: unknown) => {
      this.tmpReady = undefined;
      throw objectStoreError(err, `preparing ${this.tmpDir}`);
    });
    return this.tmpReady;
  }

  /** Removes temp files older than `maxAgeMs` (left by writers that crashed); returns how many. */
  async removeStaleTempFiles(maxAgeMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.tmpDir);
    } catch (err) {
      if (isAbsent(err)) return 0;
      throw err;
    }
    let removed = 0;
    const cutoff = Date.now() - maxAgeMs;
    for (const name of names) {
      const p = resolve(this.tmpDir, name);
      const st = await stat(p).catch(() => undefined);
      if (
        st?.isFile() &&
        st.mtimeMs < cutoff &&
        (await unlink(p).then(
          () => true,
          () => false,
        ))
      )
        removed++;
    }
    return removed;
  }
}

function isAbsent(err: unknown): boolean {
  return errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR';
}

/**
 * Typed errors pass through; a full disk or quota becomes StorageFullError (507: the client cannot fix
 * it by retrying soon); anything else becomes a StorageError that says what was being done.
 */
export function objectStoreError(err: unknown, doing: string, key?: string): SecondreadError {
  if (err instanceof SecondreadError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (errno(err) === 'ENOSPC' || errno(err) === 'EDQUOT') {
    // The temp file was removed by the caller, so a full disk leaves no partial object behind.
    return new StorageFullError(
      `object store is out of space while ${doing} (${errno(err)}): free space or grow the volume`,
      key === undefined ? undefined : { key },
      {
        cause: err,
      },
    );
  }
  return new StorageError(`object store failed ${doing}: ${message}`, key === undefined ? undefined : { key }, { cause: err });
}

/** fsyncs a directory so the rename that published an object survives a power loss. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
