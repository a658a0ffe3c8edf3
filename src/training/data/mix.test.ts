// Mixup and CutMix of a prepared batch: pixels and soft targets follow the drawn λ exactly, the draw is a pure
// function of (seed, epoch, position), and Beta(α, α) has the right moments.
import { describe, expect, it } from 'vitest';

import { Rng } from '../../core/rng.js';
import { type ImageSet, prepareBatch } from './batch.js';
import { applyMix, drawMix, sampleBeta } from './mix.js';

const S = 8;
const PX = S * S;
const C = 4;

/** Three images, each a constant (1, 2, 3), labels 0, 2, 3. */
function batch(): { images: Float32Array; labels: BigInt64Array } {
  const images = new Float32Array(3 * PX);
  for (let i = 0; i < 3; i++) images.fill(i + 1, i * PX, (i + 1) * PX);
  return { images, labels: BigInt64Array.from([0n, 2n, 3n]) };
}

describe('applyMix', () => {
  it('mixup: x_i = λ·x_i + (1 − λ)·x_{B−1−i}, t_i = λ·onehot(y_i) + (1 − λ)·onehot(y_{B−1−i})', () => {
    const { images, labels } = batch();
    const t = applyMix(images, labels, S, C, { lambda: 0.7 });
    expect(images[0]).toBeCloseTo(0.7 * 1 + 0.3 * 3, 6);
    expect(images[PX]).toBeCloseTo(2, 6); // the middle image mixes with itself
    expect(images[2 * PX + 5]).toBeCloseTo(0.7 * 3 + 0.3 * 1, 6);
    expect(Array.from(t).map((v) => Number(v.toFixed(6)))).toEqual([0.7, 0, 0, 0.3, 0, 0, 1, 0, 0.3, 0, 0, 0.7]);
  });

  it('cutmix: the box comes from the partner image, the rest stays; λ is the uncut share', () => {
    const { images, labels } = batch();
    const box = { x0: 2, x1: 6, y0: 0, y1: 4 };
    const lambda = 1 - 16 / PX;
    const t = applyMix(images, labels, S, C, { lambda, box });
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const inBox = x >= 2 && x < 6 && y < 4;
        expect(images[y * S + x]).toBe(inBox ? 3 : 1);
      }
    }
    expect(t[0]).toBeCloseTo(lambda, 6);
    expect(t[3]).toBeCloseTo(1 - lambda, 6);
  });
});

describe('drawMix', () => {
  it('cutmix λ equals the uncut pixel share of its (clipped) box', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 200; i++) {
      const d = drawMix(rng, { mixup: 0, cutmix: 1, numClasses: C }, 32);
      const b = d.box!;
      expect(b.x0).toBeGreaterThanOrEqual(0);
      expect(b.x1).toBeLessThanOrEqual(32);
      expect(d.lambda).toBeCloseTo(1 - ((b.x1 - b.x0) * (b.y1 - b.y0)) / (32 * 32), 12);
    }
  });

  it('with both enabled uses each about half the time', () => {
    const rng = new Rng(9);
    let cut = 0;
    for (let i = 0; i < 1000; i++) if (drawMix(rng, { mixup: 0.2, cutmix: 1, numClasses: C }, 16).box) cut++;
    expect(cut).toBeGreaterThan(440);
    expect(cut).toBeLessThan(560);
  });
});

describe('sampleBeta', () => {
  it.each([0.2, 1, 2])('Beta(α, α) at α = %d has mean ½ and variance 1/(4(2α + 1))', (alpha) => {
    const rng = new Rng(17);
    const n = 20_000;
    const xs = Array.from({ length: n }, () => sampleBeta(rng, alpha));
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(xs.every((x) => x >= 0 && x <= 1)).toBe(true);
    expect(mean).toBeCloseTo(0.5, 1);
    expect(variance / (1 / (4 * (2 * alpha + 1)))).toBeGreaterThan(0.93);
    expect(variance / (1 / (4 * (2 * alpha + 1)))).toBeLessThan(1.07);
  });
});

describe('prepareBatch with a mix', () => {
  const set: ImageSet = {
    images: Uint8Array.from({ length: 6 * PX }, (_, i) => (i * 37) % 256),
    labels: Uint8Array.from([0, 1, 2, 3, 1, 0]),
    size: S,
    count: 6,
  };
  const req = { rows: [0, 1, 2, 3], augment: null, norm: { mean: 0.5, std: 0.25 }, seed: 3, epoch: 1, position: 4 };

  it('returns soft targets whose rows sum to 1, the same for the same (seed, epoch, position)', () => {
    const mix = { mixup: 0.4, cutmix: 1, numClasses: C };
    const a = prepareBatch(set, { ...req, mix });
    const b = prepareBatch(set, { ...req, mix });
    expect(a.targets).toHaveLength(4 * C);
    for (let i = 0; i < 4; i++) expect(Array.from(a.targets!.subarray(i * C, (i + 1) * C)).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 6);
    expect(a.images).toEqual(b.images);
    expect(a.targets).toEqual(b.targets);
    expect(Array.from(a.labels)).toEqual([0n, 1n, 2n, 3n]);
    expect(prepareBatch(set, { ...req, mix, position: 8 }).images).not.toEqual(a.images);
  });

  it('without a mix (or with both α = 0) the batch is the plain one, without targets', () => {
    const plain = prepareBatch(set, req);
    expect(plain.targets).toBeUndefined();
    expect(prepareBatch(set, { ...req, mix: { mixup: 0, cutmix: 0, numClasses: C } })).toEqual(plain);
  });
});
