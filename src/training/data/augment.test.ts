import { describe, expect, it } from 'vitest';

import { Rng } from '../../core/rng.js';
import { augmentInto, DEFAULT_AUGMENT, drawAugment, IDENTITY_PARAMS, normalizeInto, pixelStats } from './augment.js';

const S = 8;
/** A ramp image: value = 10·x + y (distinct per pixel, no 0 so "outside" black is recognisable). */
const ramp = Uint8Array.from({ length: S * S }, (_, i) => 10 * (i % S) + Math.floor(i / S) + 1);
const unit = { mean: 0, std: 1 / 255 }; // x = v: keeps pixel values readable

function run(params: ReturnType<typeof IDENTITY_PARAMS>): Float32Array {
  const out = new Float32Array(S * S);
  augmentInto(ramp, S, params, unit, out, 0);
  return out;
}

describe('augmentInto', () => {
  it('is the identity for identity parameters', () => {
    expect(Array.from(run(IDENTITY_PARAMS(S)))).toEqual(Array.from(ramp));
  });

  it('mirrors left-right when flipping', () => {
    const out = run({ ...IDENTITY_PARAMS(S), flip: true });
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) expect(out[y * S + x]).toBeCloseTo(ramp[y * S + (S - 1 - x)]!, 4);
  });

  it('rotates by 90° about the centre', () => {
    // out(u, v) samples src at c + R(90°)(u − c, v − c) = (c − (v − c), c + (u − c)) → src(x = S−1−v, y = u)
    const out = run({ ...IDENTITY_PARAMS(S), angle: Math.PI / 2 });
    for (let v = 0; v < S; v++) for (let u = 0; u < S; u++) expect(out[v * S + u]).toBeCloseTo(ramp[u * S + (S - 1 - v)]!, 3);
  });

  it('zooms into a half-size crop (bilinear between source pixels)', () => {
    // crop 4×4 centred at (4, 4): output pixel u samples source x = 2 + (u + 0.5)/2 − 0.5 → u=0: 1.75
    const out = run({ ...IDENTITY_PARAMS(S), cropW: 4, cropH: 4 });
    const srcAt = (x: number, y: number) => 10 * x + y + 1; // the ramp is linear, so bilinear is exact
    expect(out[0]).toBeCloseTo(srcAt(1.75, 1.75), 4);
    expect(out[S * S - 1]).toBeCloseTo(srcAt(5.25, 5.25), 4);
  });

  it('fills area rotated in from outside the image with black', () => {
    const out = run({ ...IDENTITY_PARAMS(S), angle: Math.PI / 4 });
    expect(out[0]).toBe(0); // a corner maps outside the source
  });

  it('scales brightness and stretches contrast around the mean, clamped to 0…255', () => {
    const bright = run({ ...IDENTITY_PARAMS(S), brightness: 2 });
    expect(bright[1]).toBeCloseTo(2 * ramp[1]!, 4);
    const flat = run({ ...IDENTITY_PARAMS(S), contrast: 0 });
    const mean = ramp.reduce((a, b) => a + b, 0) / ramp.length;
    expect(flat.every((v) => Math.abs(v - mean) < 1e-3)).toBe(true);
  });

  it('normalizes as (v/255 − mean)/std', () => {
    const out = new Float32Array(2);
    normalizeInto(Uint8Array.from([0, 255]), { mean: 0.5, std: 0.25 }, out, 0);
    expect(Array.from(out)).toEqual([-2, 2]);
    const aug = new Float32Array(S * S);
    augmentInto(ramp, S, IDENTITY_PARAMS(S), { mean: 0.5, std: 0.25 }, aug, 0);
    const plain = new Float32Array(S * S);
    normalizeInto(ramp, { mean: 0.5, std: 0.25 }, plain, 0);
    aug.forEach((v, i) => expect(v).toBeCloseTo(plain[i]!, 5));
  });
});

describe('drawAugment', () => {
  it('stays within the configured ranges and never flips unless asked', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 200; i++) {
      const p = drawAugment(rng, 64, DEFAULT_AUGMENT);
      expect(p.cropW * p.cropH).toBeGreaterThanOrEqual(64 * 64 * DEFAULT_AUGMENT.cropMinScale * 0.999 * (3 / 4)); // clamp to the side can only shrink it
      expect(p.cropW).toBeLessThanOrEqual(64);
      expect(p.cx - p.cropW / 2).toBeGreaterThanOrEqual(0);
      expect(p.cx + p.cropW / 2).toBeLessThanOrEqual(64);
      expect(Math.abs(p.angle)).toBeLessThanOrEqual((10 * Math.PI) / 180);
      expect(p.flip).toBe(false);
      expect(Math.abs(p.brightness - 1)).toBeLessThanOrEqual(0.2);
    }
    const flips = Array.from({ length: 200 }, () => drawAugment(rng, 64, { ...DEFAULT_AUGMENT, hflip: true }).flip).filter(Boolean).length;
    expect(flips).toBeGreaterThan(70);
    expect(flips).toBeLessThan(130);
  });
});

describe('drawAugment with sharpShare', () => {
  const sharp = { ...DEFAULT_AUGMENT, brightness: 0, contrast: 0, hflip: true, sharpShare: 1 };

  it('only shifts by whole pixels: every output pixel is a source pixel or the black outside', () => {
    const rng = new Rng(3);
    const shifts = new Set<string>();
    for (let k = 0; k < 50; k++) {
      const p = drawAugment(rng, S, sharp);
      expect(p).toMatchObject({ cropW: S, cropH: S, angle: 0 });
      const dx = p.cx - S / 2;
      const dy = p.cy - S / 2;
      expect(Number.isInteger(dx) && Number.isInteger(dy)).toBe(true);
      shifts.add(`${dx},${dy}`);
      const out = run(p);
      for (let v = 0; v < S; v++) {
        for (let u = 0; u < S; u++) {
          const x = p.flip ? S - 1 - u + dx : u + dx;
          const y = v + dy;
          const want = x >= 0 && y >= 0 && x < S && y < S ? ramp[y * S + x]! : 0;
          expect(out[v * S + u]).toBeCloseTo(want, 3);
        }
      }
    }
    expect(shifts.size).toBeGreaterThan(1);
  });

  it('mixes sharp and resampled images at the configured share', () => {
    const rng = new Rng(4);
    let sharpCount = 0;
    for (let k = 0; k < 2000; k++) {
      const p = drawAugment(rng, 64, { ...DEFAULT_AUGMENT, sharpShare: 0.3 });
      if (p.angle === 0 && p.cropW === 64 && p.cropH === 64) sharpCount++;
    }
    expect(sharpCount / 2000).toBeGreaterThan(0.25);
    expect(sharpCount / 2000).toBeLessThan(0.35);
  });
});

describe('random erasing (eraseProb)', () => {
  it('erases one rectangle of 2–33% of the image to the training mean (0 after normalization), at the configured rate', () => {
    const rng = new Rng(5);
    let erased = 0;
    for (let k = 0; k < 400; k++) {
      const p = drawAugment(rng, 64, { ...DEFAULT_AUGMENT, eraseProb: 0.25 });
      if (!p.erase) continue;
      erased++;
      const { x0, y0, x1, y1 } = p.erase;
      const area = ((x1 - x0) * (y1 - y0)) / (64 * 64);
      expect(area).toBeGreaterThan(0.015);
      expect(area).toBeLessThan(0.36);
      expect(x0 >= 0 && y0 >= 0 && x1 <= 64 && y1 <= 64).toBe(true);
    }
    expect(erased / 400).toBeGreaterThan(0.18);
    expect(erased / 400).toBeLessThan(0.32);
  });

  it('writes the mean into the rectangle and leaves every other pixel as without it', () => {
    const norm = { mean: 0.4, std: 0.2 };
    const erase = { x0: 2, y0: 3, x1: 6, y1: 5 };
    const plain = new Float32Array(S * S);
    const withErase = new Float32Array(S * S);
    augmentInto(ramp, S, IDENTITY_PARAMS(S), norm, plain, 0);
    augmentInto(ramp, S, { ...IDENTITY_PARAMS(S), erase }, norm, withErase, 0);
    for (let v = 0; v < S; v++) {
      for (let u = 0; u < S; u++) {
        const inside = u >= 2 && u < 6 && v >= 3 && v < 5;
        expect(withErase[v * S + u]).toBe(inside ? 0 : plain[v * S + u]);
      }
    }
  });

  it('draws nothing extra when off, so runs without it keep their random sequence', () => {
    const a = new Rng(9);
    const b = new Rng(9);
    for (let k = 0; k < 20; k++) expect(drawAugment(a, 64, DEFAULT_AUGMENT)).toEqual(drawAugment(b, 64, { ...DEFAULT_AUGMENT, eraseProb: 0 }));
  });
});

describe('pixelStats', () => {
  it('returns mean and std on the 0…1 scale', () => {
    const s = pixelStats(Uint8Array.from([0, 255, 0, 255]));
    expect(s.mean).toBeCloseTo(0.5, 12);
    expect(s.std).toBeCloseTo(0.5, 12);
    expect(pixelStats(new Uint8Array(4)).std).toBe(1); // constant images: no division by ~0
  });
});
