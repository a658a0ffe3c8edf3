// Bounded fuzzing of the whole DICOM path over files in every syntax: random byte flips, truncations
// and lies in element lengths. Each case must end as a decoded image or a DicomError/SecondreadError
// with a 4xx status — never another exception, a hang or a huge allocation.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { SecondreadError } from '../../core/errors.js';
import { decodeGrayscale } from '../images/decode.js';
import { cxrDicom, ramp16, smooth8 } from './testing.js';
import type { WritableSyntax } from './write.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const kind = Math.floor(r() * 4);
  if (kind === 0) return src.subarray(0, Math.floor(r() * src.length));
  const out = new Uint8Array(src);
  if (kind === 1) {
    const flips = 1 + Math.floor(r() * 8);
    for (let i = 0; i < flips; i++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
    return out;
  }
  // A length lie: overwrite 2 or 4 bytes somewhere in the header region with a large value.
  const at = Math.floor(r() * Math.min(out.length - 4, 700));
  const big = [0xff, 0xff, 0xff, 0x7f, 0x00, 0x10, 0xfe, 0xff][Math.floor(r() * 8)]!;
  out[at] = big;
  out[at + 1] = 0xff;
  if (kind === 3) out[at + 2] = out[at + 3] = 0xff;
  return out;
}

describe('DICOM fuzz', () => {
  it('never fails untyped, never hangs (≤ 1 500 cases, ≤ 25 s)', async () => {
    const seeds: Uint8Array[] = [];
    for (const s of ['explicit-le', 'implicit-le', 'deflated', 'rle', 'jpeg-ls', 'jpeg2000', 'jpeg-baseline'] as WritableSyntax[])
      seeds.push(await cxrDicom(s === 'jpeg-baseline' ? smooth8(32, 24) : ramp16(32, 24), s));
    for (const f of ['jpeg-lossless-sv1.dcm', 'jpeg-ls-dcmtk.dcm', 'rle-dcmtk.dcm', 'big-endian-dcmtk.dcm'])
      seeds.push(readFileSync(new URL(`./testdata/${f}`, import.meta.url)));
    const r = rng(20261206);
    const started = Date.now();
    const untyped: string[] = [];
    let decoded = 0;
    let refused = 0;
    let cases = 0;
    while (cases < 1500 && Date.now() - started < 25_000) {
      const input = mutate(seeds[cases % seeds.length]!, r);
      cases++;
      try {
        await decodeGrayscale(input);
        decoded++;
      } catch (err) {
        if (err instanceof SecondreadError && err.httpStatus >= 400 && err.httpStatus < 500) refused++;
        else untyped.push(`${cases}: ${String(err).slice(0, 160)}`);
      }
    }
    expect(untyped, untyped.slice(0, 5).join('\n')).toEqual([]);
    expect(cases).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(0);
    expect(decoded).toBeGreaterThan(0);
  }, 60_000);
});
