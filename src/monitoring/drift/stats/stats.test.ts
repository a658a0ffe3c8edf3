// The drift statistics against hand-computed cases and closed forms (scipy is not installed here): χ² survival
// for df 1 (erfc), 2 and 4 (finite sums), tabulated critical values, KS on samples small enough to step through by
// hand, Holm on the textbook example, and the level of each test checked by simulation under the null.
import { describe, expect, it } from 'vitest';

import { Rng } from '../../../core/rng.js';
import { chiSquareHomogeneity, chiSquareSurvival, logGamma } from './chi-square.js';
import { holmAdjust } from './holm.js';
import { kolmogorovSurvival, ksStatistic, ksTwoSample } from './ks.js';
import { mmdPermutationTest } from './mmd.js';

describe('chi-square', () => {
  it('matches closed forms and tables', () => {
    expect(chiSquareSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 10); // erfc(√(x/2))
    expect(chiSquareSurvival(7, 4)).toBeCloseTo(Math.exp(-3.5) * 4.5, 12);
    expect(chiSquareSurvival(5, 2)).toBeCloseTo(Math.exp(-2.5), 12);
    expect(chiSquareSurvival(18.307038053275146, 10)).toBeCloseTo(0.05, 8);
    expect(chiSquareSurvival(11.070497693516351, 5)).toBeCloseTo(0.05, 8);
    // even df: e^{-x/2} Σ_{k<df/2} (x/2)^k / k!
    expect(chiSquareSurvival(0.5, 8)).toBeCloseTo(Math.exp(-0.25) * (1 + 0.25 + 0.25 ** 2 / 2 + 0.25 ** 3 / 6), 12);
    expect(chiSquareSurvival(40, 6)).toBeCloseTo(Math.exp(-20) * (1 + 20 + 200), 15);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });
  it('tests homogeneity of two count vectors (worked by hand: χ² = 1664/105, df 2)', () => {
    const r = chiSquareHomogeneity([30, 50, 20], [10, 20, 30]);
    expect(r.df).toBe(2);
    // expected counts 26.67/53.33/33.33 vs 13.33/26.67/16.67; df 2: p = e^{-χ²/2}
    expect(r.statistic).toBeCloseTo(1664 / 105, 10);
    expect(r.pValue).toBeCloseTo(Math.exp(-832 / 105), 12);
  });
  it('drops categories empty in both samples and gives p = 1 for identical proportions', () => {
    const r = chiSquareHomogeneity([10, 0, 20], [20, 0, 40]);
    expect(r.df).toBe(1);
    expect(r.statistic).toBeCloseTo(0, 12);
    expect(r.pValue).toBe(1);
  });
});

describe('Kolmogorov–Smirnov', () => {
  it('computes D by hand, ties included', () => {
    expect(ksStatistic([1, 2, 3], [4, 5, 6])).toBe(1);
    expect(ksStatistic([1, 2, 3, 4], [3, 4, 5, 6])).toBeCloseTo(0.5, 12);
    expect(ksStatistic([1, 1, 1, 2], [1, 2, 2, 2])).toBeCloseTo(0.5, 12);
    expect(ksStatistic([0.3, 0.1], [0.1, 0.3])).toBe(0);
  });
  it('has the Kolmogorov critical values', () => {
    expect(kolmogorovSurvival(1.3580986393225507)).toBeCloseTo(0.05, 6);
    expect(kolmogorovSurvival(1.6276236115189)).toBeCloseTo(0.01, 6);
    expect(kolmogorovSurvival(0)).toBe(1);
  });
  it('holds its level under the null and detects a shift', () => {
    const rng = new Rng(7);
    const draw = (n: number, mu: number): number[] => Array.from({ length: n }, () => rng.normal(mu, 1));
    let rejects = 0;
    for (let t = 0; t < 400; t++) if (ksTwoSample(draw(200, 0), draw(60, 0)).pValue < 0.05) rejects++;
    expect(rejects / 400).toBeLessThanOrEqual(0.07);
    expect(rejects / 400).toBeGreaterThanOrEqual(0.01);
    expect(ksTwoSample(draw(200, 0), draw(60, 0.8)).pValue).toBeLessThan(0.001);
  });
});

describe('Holm', () => {
  it('adjusts the textbook example and keeps the input order', () => {
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    expect(adj[3]).toBeCloseTo(0.02, 12);
    expect(adj[0]).toBeCloseTo(0.03, 12);
    expect(adj[2]).toBeCloseTo(0.06, 12);
    expect(adj[1]).toBeCloseTo(0.06, 12); // monotone: max(0.06, 0.04)
    expect(holmAdjust([0.9, 0.8])).toEqual([1, 1]); // 2·0.8 capped at 1, then monotone
    expect(holmAdjust([0.3, 0.01])).toEqual([0.3, 0.02]);
  });
});

describe('MMD permutation test', () => {
  const rng = new Rng(11);
  const cloud = (n: number, d: number, mu: number): Float32Array[] =>
    Array.from({ length: n }, () => Float32Array.from({ length: d }, () => rng.normal(mu, 1)));

  it('is zero-ish for one distribution and large for two', () => {
    const same = mmdPermutationTest(cloud(60, 8, 0), cloud(40, 8, 0), { permutations: 99, seed: 1 });
    const shifted = mmdPermutationTest(cloud(60, 8, 0), cloud(40, 8, 0.7), { permutations: 99, seed: 1 });
    expect(shifted.statistic).toBeGreaterThan(same.statistic);
    expect(shifted.pValue).toBe(1 / 100); // no permutation reaches it
    expect(same.pValue).toBeGreaterThan(0.01);
  });
  it('holds its level under the null (40 seeded pairs)', () => {
    let rejects = 0;
    for (let t = 0; t < 40; t++) if (mmdPermutationTest(cloud(40, 4, 0), cloud(20, 4, 0), { permutations: 99, seed: t }).pValue <= 0.05) rejects++;
    expect(rejects).toBeLessThanOrEqual(6); // binomial(40, 0.05): P(X ≥ 7) < 0.01
  });
  it('is reproducible for a seed', () => {
    const a = cloud(20, 3, 0);
    const b = cloud(20, 3, 0.3);
    expect(mmdPermutationTest(a, b, { seed: 3 })).toEqual(mmdPermutationTest(a, b, { seed: 3 }));
  });
});
