import { describe, expect, it } from 'vitest';

import { histogramQuantile, normalCdf, oneSidedProportionTest, pairedBootstrap } from './statistics.js';

/** n images, `rightA`/`rightB` decide per image whether each model predicts the truth (3 classes, wrong = next class). */
function paired(n: number, rightA: (i: number) => boolean, rightB: (i: number) => boolean) {
  const truth = Int32Array.from({ length: n }, (_, i) => i % 3);
  const pred = (right: (i: number) => boolean) => Int32Array.from({ length: n }, (_, i) => (right(i) ? i % 3 : ((i % 3) + 1) % 3));
  return { truth, candidate: pred(rightA), production: pred(rightB), numClasses: 3 };
}

const O = { resamples: 1000, confidence: 0.95, seed: 7 };

describe('paired bootstrap', () => {
  it('identical models: difference 0 and a degenerate interval', () => {
    const r = pairedBootstrap(
      paired(
        300,
        (i) => i % 5 !== 0,
        (i) => i % 5 !== 0,
      ),
      O,
    );
    expect(r.accuracy).toEqual({ difference: 0, lower: 0, upper: 0 });
    expect(r.macroF1.difference).toBe(0);
    expect(r.candidate.accuracy).toBeCloseTo(0.8, 10);
  });

  it('a candidate wrong on 10% more images: the interval excludes 0 and contains the difference', () => {
    const r = pairedBootstrap(
      paired(
        600,
        (i) => i % 10 >= 2,
        (i) => i % 10 >= 1,
      ),
      O,
    );
    expect(r.accuracy.difference).toBeCloseTo(-0.1, 10);
    expect(r.accuracy.upper).toBeLessThan(0);
    expect(r.accuracy.lower).toBeLessThan(-0.1);
    expect(r.accuracy.lower).toBeGreaterThan(-0.14);
    expect(r.macroF1.upper).toBeLessThan(0);
  });

  it('is seeded: same seed, same interval; another seed, another one', () => {
    const p = paired(
      200,
      (i) => i % 7 !== 0,
      (i) => i % 4 !== 0,
    );
    expect(pairedBootstrap(p, O)).toEqual(pairedBootstrap(p, O));
    expect(pairedBootstrap(p, { ...O, seed: 8 }).accuracy.lower).not.toBe(pairedBootstrap(p, O).accuracy.lower);
  });

  it('pairing narrows the interval: two models with correlated errors', () => {
    // Both wrong on the same 20% of images, the candidate on 2% more: the paired interval is tight around −0.02.
    const r = pairedBootstrap(
      paired(
        1000,
        (i) => i % 50 >= 11,
        (i) => i % 50 >= 10,
      ),
      O,
    );
    expect(r.accuracy.difference).toBeCloseTo(-0.02, 10);
    expect(r.accuracy.upper - r.accuracy.lower).toBeLessThan(0.03);
  });

  it('refuses an empty sample', () => {
    expect(() =>
      pairedBootstrap(
        paired(
          0,
          () => true,
          () => true,
        ),
        O,
      ),
    ).toThrow(/no images/);
  });
});

describe('tests and quantiles', () => {
  it('normal CDF', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 6);
  });

  it('one-sided two-proportion test', () => {
    // 90% vs 80% on 200 each: z ≈ 2.80, p ≈ 0.0026.
    expect(oneSidedProportionTest(180, 200, 160, 200)).toBeCloseTo(0.0026, 3);
    expect(oneSidedProportionTest(160, 200, 180, 200)).toBeGreaterThan(0.99);
    expect(oneSidedProportionTest(0, 0, 5, 10)).toBe(1);
  });

  it('histogram p95 is the upper edge of the bucket that holds it', () => {
    expect(histogramQuantile([10, 20, 50], [90, 4, 6, 0], 0.95)).toBe(50);
    expect(histogramQuantile([10, 20, 50], [95, 5, 0, 0], 0.95)).toBe(10);
    expect(histogramQuantile([10, 20, 50], [0, 0, 0, 3], 0.95)).toBe(Infinity);
    expect(histogramQuantile([10], [0, 0], 0.95)).toBeNull();
  });
});
