// The training cache file (`<split>.srcache`): preprocessed images packed as raw uint8 so training
// reads (or memory-maps) them without decoding anything.
//
//   bytes 0..7    magic "SRCACHE1"
//   bytes 8..11   header length H, uint32 little-endian
//   bytes 12..    header: H bytes of UTF-8 JSON (CacheHeader), space-padded so data starts 64-aligned
//   images        at header.arrays.images.offset: N×S×S uint8, row-major (N, H, W), 0 = black
//   labels        at header.arrays.labels.offset: N uint8, index into header.classes
//   final_eval    at header.arrays.final_eval.offset: N uint8, 1 = flagged final_eval
//
// From Python: h = json.loads(f[12:12+H]); np.memmap(path, np.uint8, 'r', h['arrays']['images']['offset'],
// tuple(h['arrays']['images']['shape'])).
import type { SecondreadClass } from '../classes.js';
import type { Split } from '../datasets/types.js';

export const CACHE_MAGIC = 'SRCACHE1';
export const CACHE_FORMAT_VERSION = 1;
const PREAMBLE = 12;
const ALIGN = 64;

export interface CacheArray {
  offset: number;
  shape: number[];
  dtype: 'uint8';
}

export interface CacheHeader {
  format: 'secondread-cache';
  format_version: number;
  dataset_version: string;
  split: Split;
  size: number;
  count: number;
  layout: 'NHW';
  classes: readonly SecondreadClass[];
  preprocess: { name: string; version: number };
  arrays: { images: CacheArray; labels: CacheArray; final_eval: CacheArray };
  /** sha256 of each row's source image, in row order (lineage back to the manifest). */
  sha256: string[];
}

export type CacheHeaderInput = Omit<CacheHeader, 'format' | 'format_version' | 'layout' | 'arrays'>;

/** The header with array offsets filled in, and its encoded bytes (preamble + padded JSON). */
export function encodeHeader(input: CacheHeaderInput): { header: CacheHeader; bytes: Buffer; fileSize: number } {
  const n = input.count;
  const s = input.size;
  // Offsets depend on the header length, which depends on the offsets' digits: iterate to a fixpoint.
  let dataStart = 0;
  for (;;) {
    const header: CacheHeader = {
      format: 'secondread-cache',
      format_version: CACHE_FORMAT_VERSION,
      layout: 'NHW',
      ...input,
      arrays: {
        images: { offset: dataStart, shape: [n, s, s], dtype: 'uint8' },
        labels: { offset: dataStart + n * s * s, shape: [n], dtype: 'uint8' },
        final_eval: { offset: dataStart + n * s * s + n, shape: [n], dtype: 'uint8' },
      },
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const needed = Math.ceil((PREAMBLE + json.length) / ALIGN) * ALIGN;
    if (needed === dataStart) {
      const bytes = Buffer.alloc(dataStart, 0x20);
      bytes.write(CACHE_MAGIC, 0, 'latin1');
      bytes.writeUInt32LE(dataStart - PREAMBLE, 8);
      json.copy(bytes, PREAMBLE);
      return { header, bytes, fileSize: dataStart + n * s * s + 2 * n };
    }
    dataStart = needed;
  }
}

/** Parses the preamble + header from the first bytes of a cache file; null when it is not one. */
export function decodeHeader(prefix: Buffer): { header: CacheHeader; headerBytes: number } | null {
  if (prefix.length < PREAMBLE || prefix.toString('latin1', 0, 8) !== CACHE_MAGIC) return null;
  const h = prefix.readUInt32LE(8);
  if (prefix.length < PREAMBLE + h) return null;
  const header = JSON.parse(prefix.toString('utf8', PREAMBLE, PREAMBLE + h)) as CacheHeader;
  return { header, headerBytes: PREAMBLE + h };
}

export const HEADER_PREAMBLE_BYTES = PREAMBLE;
