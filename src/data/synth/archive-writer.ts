// Streaming, reproducible archive writers: fixed timestamps, modes and owners, entries in the
// order they are added, so the same inputs always give byte-identical zip / tar.gz files.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

import tar, { type Header as TarHeader } from 'tar-stream';
import yazl from 'yazl';

/**
 * The timestamp every entry carries. Zip stores DOS local-time fields, so it is built from local
 * fields (and the UTC "UT" extra field is disabled) to give the same bytes in every time zone.
 */
const ZIP_MTIME = new Date(2021, 2, 1, 12, 0, 0);
const TAR_MTIME = new Date(Date.UTC(2018, 0, 6, 12, 0, 0));

export interface ArchiveSummary {
  bytes: number;
  sha256: string;
}

export interface ArchiveWriter {
  add(name: string, data: Buffer): Promise<void>;
  /** Flushes and closes the file. */
  finish(): Promise<ArchiveSummary>;
}

/** Pipes an archive's byte stream to a file while hashing and counting it. */
function sink(source: Readable, path: string): Promise<ArchiveSummary> {
  const hash = createHash('sha256');
  let bytes = 0;
  source.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  return pipeline(source, createWriteStream(path)).then(() => ({ bytes, sha256: hash.digest('hex') }));
}

/**
 * Zip with stored (uncompressed) entries: PNG/JPEG do not deflate (Info-ZIP's `zip` also stores
 * an entry when deflating would not shrink it), and storing saves minutes on large runs.
 */
export function createZipWriter(path: string): ArchiveWriter {
  const zip = new yazl.ZipFile();
  const done = sink(zip.outputStream as unknown as Readable, path);
  return {
    async add(name, data) {
      zip.addBuffer(data, name, { mtime: ZIP_MTIME, mode: 0o100644, compress: false, forceDosTimestamp: true });
      // yazl writes without waiting; wait here when its output is backed up (bounded memory).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const out = zip.outputStream as unknown as Writable;
      if (out.writableNeedDrain) await once(out, 'drain');
    },
    async finish() {
      zip.end();
      return done;
    },
  };
}

/** tar (ustar, with the parent directory entries real tarballs have) through gzip. */
export function createTarGzWriter(path: string): ArchiveWriter {
  const pack = tar.pack();
  const gzip = createGzip({ level: 6 });
  const done = sink(pack.pipe(gzip), path);
  const dirs = new Set<string>();
  const header = { mtime: TAR_MTIME, uid: 0, gid: 0, uname: '', gname: '' };
  const write = (entry: Partial<TarHeader> & Pick<TarHeader, 'name'>, data?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      pack.entry(entry, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  return {
    async add(name, data) {
      const parts = name.split('/');
      for (let i = 1; i < parts.length; i++) {
        const dir = `${parts.slice(0, i).join('/')}/`;
        if (dirs.has(dir)) continue;
        dirs.add(dir);
        await write({ ...header, name: dir, type: 'directory', mode: 0o755 });
      }
      await write({ ...header, name, type: 'file', mode: 0o644, size: data.length }, data);
      // Respect back-pressure from gzip and the file.
      if (gzip.writableNeedDrain) await once(gzip, 'drain');
    },
    async finish() {
      pack.finalize();
      return done;
    },
  };
}
