// Reading a training cache file. Node has no mmap, so `loadCache` reads the file into one Buffer and
// hands out zero-copy views (a 64² cache of the whole OCT2017 set is ~350 MB); `readCacheHeader`
// reads only the header. Other runtimes can memory-map the same file (see format.ts).
import { open, readFile } from 'node:fs/promises';

import { ValidationError } from '../../core/errors.js';
import { type CacheHeader, decodeHeader, HEADER_PREAMBLE_BYTES } from './format.js';

export interface LoadedCache {
  header: CacheHeader;
  /** N×S×S uint8, row-major. */
  images: Uint8Array;
  labels: Uint8Array;
  finalEval: Uint8Array;
  /** The i-th image (S×S view, no copy). */
  image(i: number): Uint8Array;
}

export async function readCacheHeader(path: string): Promise<CacheHeader> {
  const fh = await open(path, 'r').catch(() => {
    throw new ValidationError(`cache file '${path}' cannot be opened`);
  });
  try {
    const pre = Buffer.alloc(HEADER_PREAMBLE_BYTES);
    await fh.read(pre, 0, pre.length, 0);
    const length = pre.toString('latin1', 0, 8) === 'SRCACHE1' ? pre.readUInt32LE(8) : 0;
    const all = Buffer.alloc(HEADER_PREAMBLE_BYTES + length);
    await fh.read(all, 0, all.length, 0);
    const decoded = decodeHeader(all);
    if (!decoded) throw new ValidationError(`'${path}' is not a secondread cache file`);
    return decoded.header;
  } finally {
    await fh.close();
  }
}

export async function loadCache(path: string): Promise<LoadedCache> {
  const buf = await readFile(path).catch(() => {
    throw new ValidationError(`cache file '${path}' cannot be read`);
  });
  const decoded = decodeHeader(buf);
  if (!decoded) throw new ValidationError(`'${path}' is not a secondread cache file`);
  const { header } = decoded;
  const { images, labels, final_eval } = header.arrays;
  const n = header.count;
  const px = header.size * header.size;
  if (buf.length !== final_eval.offset + n) throw new ValidationError(`cache file '${path}' is truncated or has trailing bytes`);
  const view = (offset: number, length: number) => new Uint8Array(buf.buffer, buf.byteOffset + offset, length);
  return {
    header,
    images: view(images.offset, n * px),
    labels: view(labels.offset, n),
    finalEval: view(final_eval.offset, n),
    image: (i) => view(images.offset + i * px, px),
  };
}
