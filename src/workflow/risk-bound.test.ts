import { describe, expect, it } from 'vitest';

import { binomialCdf, binomialPValue, clopperPearsonUpper, minTrialsToCertify } from './risk-bound.js';

// Reference values from scipy 1.17.1: binom.cdf(k, n, p) and beta.ppf(c, f + 1, n − f).
describe('binomialCdf', () => {
  it.each([
    [3, 650, 0.005, 0.5912689077129345],
    [0, 1000, 0.005, 0.006653968578831993],
    [7, 1540, 0.005, 0.49530695778581957],
    [100, 200000, 0.005, 7.917241984566495e-294],
    [2, 10, 0.3, 0.3827827863999998],
    [40, 100, 0.5, 0.028443966820490444],
  ])('P(X ≤ %i; n = %i, p = %f) matches scipy', (k, n, p, want) => {
    // Relative: ln Γ of 2·10⁵ carries ~1e-9 of rounding into the far tail.
    expect(binomialCdf(k, n, p) / want).toBeCloseTo(1, 8);
  });

  it('hand-derived cases and the edges', () => {
    // n = 2, p = 1/2: P(X ≤ 0) = 1/4, P(X ≤ 1) = 3/4.
    expect(binomialCdf(0, 2, 0.5)).toBeCloseTo(0.25, 14);
    expect(binomialCdf(1, 2, 0.5)).toBeCloseTo(0.75, 14);
    expect(binomialCdf(-1, 5, 0.3)).toBe(0);
    expect(binomialCdf(5, 5, 0.3)).toBe(1);
    expect(binomialCdf(2, 5, 0)).toBe(1);
    expect(binomialCdf(2, 5, 1)).toBe(0);
    expect(() => binomialCdf(1, 2.5, 0.1)).toThrow(RangeError);
    expect(() => binomialCdf(1, 2, 1.5)).toThrow(RangeError);
  });

  it('the p-value is 1 with no trials and is the binomial tail otherwise', () => {
    expect(binomialPValue(0, 0, 0.005)).toBe(1);
    expect(binomialPValue(0, 598, 0.005)).toBeCloseTo(0.995 ** 598, 12);
  });
});

describe('clopperPearsonUpper', () => {
  it.each([
    [0, 598, 0.95, 0.004997058694246506],
    [3, 650, 0.95, 0.011885146117208123],
    [7, 1540, 0.95, 0.008520699105576263],
    [8, 1097, 0.95, 0.013119716202268275],
    [1, 10, 0.9, 0.33684772330672474],
    [50, 20000, 0.99, 0.0034517151566842547],
    [0, 1, 0.95, 0.95],
    [5, 5000, 0.95, 0.0021014479783966794],
    [12, 100, 0.5, 0.12625990417284663],
  ])('%i of %i at %f matches scipy beta.ppf', (f, n, c, want) => {
    expect(clopperPearsonUpper(f, n, c)).toBeCloseTo(want, 12);
  });

  it('is the dual of the p-value, and 1 when nothing bounds the rate', () => {
    for (const [f, n] of [
      [0, 700],
      [2, 1500],
      [9, 4000],
    ] as const) {
      const u = clopperPearsonUpper(f, n, 0.95);
      expect(binomialPValue(f, n, u)).toBeCloseTo(0.05, 9);
      expect(binomialPValue(f, n, u * 1.001)).toBeLessThan(0.05);
      expect(binomialPValue(f, n, u * 0.999)).toBeGreaterThan(0.05);
    }
    expect(clopperPearsonUpper(0, 0, 0.95)).toBe(1);
    expect(clopperPearsonUpper(4, 4, 0.95)).toBe(1);
    expect(() => clopperPearsonUpper(1, 10, 1)).toThrow(RangeError);
    expect(() => clopperPearsonUpper(11, 10, 0.9)).toThrow(RangeError);
  });
});

describe('minTrialsToCertify', () => {
  it('is the least n with (1 − b)^n ≤ 1 − c: 598 for 0.5% at 95%', () => {
    expect(minTrialsToCertify(0.005, 0.95)).toBe(598);
    expect(clopperPearsonUpper(0, 598, 0.95)).toBeLessThanOrEqual(0.005);
    expect(clopperPearsonUpper(0, 597, 0.95)).toBeGreaterThan(0.005);
    // (1 − 1/2)^n ≤ 1/4 ⇔ n ≥ 2 (exactly at 2: the boundary counts).
    expect(minTrialsToCertify(0.5, 0.75)).toBe(2);
    expect(minTrialsToCertify(0, 0.95)).toBe(Number.POSITIVE_INFINITY);
  });
});
