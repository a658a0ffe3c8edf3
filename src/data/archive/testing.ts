// Test helpers: write small zip and tar.gz archives, including hostile ones that the archive
// libraries refuse to write (those are produced by patching a harmless name of the same length).
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

import tar from 'tar-stream';
import yazl from 'yazl';

export interface TestZipEntry {
  name: string;
  data?: Buffer | string;
  /** Unix mode incl. file type bits, e.g. 0o120777 for a symlink. */
  mode?: number;
  directory?: boolean;
  compress?: boolean;
}

export async function writeTestZip(file: string, entries: TestZipEntry[]): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    if (e.directory) zip.addEmptyDirectory(e.name);
    else zip.addBuffer(Buffer.from(e.data ?? ''), e.name, { mode: e.mode, compress: e.compress ?? true });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
}

export interface TestTarEntry {
  name: string;
  data?: Buffer | string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'fifo';
  linkname?: string;
}

export async function writeTestTarGz(file: string, entries: TestTarEntry[]): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, createGzip(), createWriteStream(file));
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: e.name, type, linkname: e.linkname, size: data.length, mode: type === 'directory' ? 0o755 : 0o644 }, data, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  pack.finalize();
  await done;
}

/** Replaces every occurrence of `from` with `to` (same byte length) in a file. */
export async function patchFile(file: string, from: string, to: string): Promise<void> {
  const a = Buffer.from(from);
  const b = Buffer.from(to);
  if (a.length !== b.length) throw new Error('patchFile needs equal lengths');
  const buf = await readFile(file);
  let at = buf.indexOf(a);
  if (at < 0) throw new Error(`'${from}' not found in ${file}`);
  while (at >= 0) {
    b.copy(buf, at);
    at = buf.indexOf(a, at + b.length);
  }
  await writeFile(file, buf);
}

/** Overwrites the uncompressed-size field of every central-directory record (a lying header). */
export async function patchZipDeclaredSizes(file: string, size: number): Promise<void> {
  const buf = await readFile(file);
  const sig = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
  for (let at = buf.indexOf(sig); at >= 0; at = buf.indexOf(sig, at + 4)) buf.writeUInt32LE(size, at + 24);
  await writeFile(file, buf);
}
