// The statistics of the change protocol, pure and seeded:
// - paired bootstrap of candidate − production accuracy and macro-F1 on the same images: each resample draws
//   n images with replacement and scores both models on that one draw, so the interval reflects the
//   correlation between the two models' errors (much narrower than two independent intervals). Percentile
//   interval at the stated confidence (two-sided); non-inferior ⇔ its lower end ≥ −margin.
// - a one-sided two-proportion z-test (pooled) for "the canary agrees with reader A less often than production".
// - p95 of latency: nearest rank on samples, and the bucket upper edge on a histogram (a conservative read).
import { ValidationError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { accuracy, classFigures, confusionMatrix, macroF1 } from '../training/metrics/index.js';

/** The two models' predicted class indices and the truth, over the same images. */
export interface PairedPredictions {
  truth: Int32Array;
  candidate: Int32Array;
  production: Int32Array;
  numClasses: number;
}

export interface Interval {
  /** Candidate − production on the whole sample. */
  difference: number;
  lower: number;
  upper: number;
}

export interface PairedComparison {
  images: number;
  candidate: { accuracy: number; macroF1: number };
  production: { accuracy: number; macroF1: number };
  accuracy: Interval;
  macroF1: Interval;
  resamples: number;
  confidence: number;
  seed: number;
}

function scores(truth: ArrayLike<number>, predicted: ArrayLike<number>, k: number): { accuracy: number; macroF1: number } {
  const cm = confusionMatrix(truth, predicted, k);
  return { accuracy: accuracy(cm), macroF1: macroF1(classFigures(cm)) ?? 0 };
}

/** Nearest-rank quantile of sorted values (q in [0, 1]). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new ValidationError('quantile of no values');
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

/** Paired percentile bootstrap of candidate − production accuracy and macro-F1. */
export function pairedBootstrap(p: PairedPredictions, o: { resamples: number; confidence: number; seed: number }): PairedComparison {
  const n = p.truth.length;
  if (n === 0) throw new ValidationError('paired bootstrap: no images both models can be scored on');
  if (p.candidate.length !== n || p.production.length !== n) throw new ValidationError('paired bootstrap: predictions and truth differ in length');
  const k = p.numClasses;
  const cand = scores(p.truth, p.candidate, k);
  const prod = scores(p.truth, p.production, k);
  const rng = new Rng(o.seed);
  const dAcc = new Float64Array(o.resamples);
  const dF1 = new Float64Array(o.resamples);
  const t = new Int32Array(n);
  const c = new Int32Array(n);
  const q = new Int32Array(n);
  for (let r = 0; r < o.resamples; r++) {
    for (let i = 0; i < n; i++) {
      const j = Math.floor(rng.next() * n);
      t[i] = p.truth[j]!;
      c[i] = p.candidate[j]!;
      q[i] = p.production[j]!;
    }
    const sc = scores(t, c, k);
    const sp = scores(t, q, k);
    dAcc[r] = sc.accuracy - sp.accuracy;
    dF1[r] = sc.macroF1 - sp.macroF1;
  }
  dAcc.sort();
  dF1.sort();
  const tail = (1 - o.confidence) / 2;
  const interval = (d: Float64Array, difference: number): Interval => ({
    difference,
    lower: quantileSorted(d, tail),
    upper: quantileSorted(d, 1 - tail),
  });
  return {
    images: n,
    candidate: cand,
    production: prod,
    accuracy: interval(dAcc, cand.accuracy - prod.accuracy),
    macroF1: interval(dF1, cand.macroF1 - prod.macroF1),
    resamples: o.resamples,
    confidence: o.confidence,
    seed: o.seed,
  };
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * One-sided p-value of H0 "rate a ≤ rate b" against "a > b" (pooled two-proportion z-test): small when the
 * first arm's rate is credibly above the second's. 1 when either arm is empty or the pooled rate is 0 or 1.
 */
export function oneSidedProportionTest(aHits: number, aN: number, bHits: number, bN: number): number {
  if (aN === 0 || bN === 0) return 1;
  const pooled = (aHits + bHits) / (aN + bN);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / aN + 1 / bN));
  if (se === 0) return 1;
  const z = (aHits / aN - bHits / bN) / se;
  return 1 - normalCdf(z);
}

/**
 * p95 read off a histogram: the upper edge of the bucket holding the 95th percentile (`counts` has one more
 * entry than `edges`: the overflow bucket, whose edge is Infinity). null when it holds nothing.
 */
export function histogramQuantile(edges: readonly number[], counts: readonly number[], q: number): number | null {
  const total = counts.reduce((s, x) => s + x, 0);
  if (total === 0) return null;
  const target = Math.ceil(q * total);
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    cum += counts[i]!;
    if (cum >= target) return i < edges.length ? edges[i]! : Infinity;
  }
  return Infinity;
}
