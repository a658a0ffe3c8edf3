// Exact binomial tail and the Clopper–Pearson upper confidence bound, for the policy fit's guarantee
// (docs/policy.md, "The guarantee"). Pure arithmetic in log space: a validation split of tens of thousands of
// clears at a rate of 0.5% puts (1 − p)^n far below the smallest double, and the terms must not underflow.

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: ~1e-15 relative). */
function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * P(X ≤ k) for X ~ Binomial(n, p), exact up to floating point. k < 0: 0; k ≥ n: 1. The terms are summed from
 * the largest one in log space, so neither a tiny (1 − p)^n nor a long sum loses the result.
 */
export function binomialCdf(k: number, n: number, p: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`binomialCdf: n must be a non-negative integer, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomialCdf: p must be in [0, 1], got ${p}`);
  k = Math.floor(k);
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p === 0) return 1;
  if (p === 1) return 0;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  const lnN = lnGamma(n + 1);
  const logTerm = (i: number) => lnN - lnGamma(i + 1) - lnGamma(n - i + 1) + i * lp + (n - i) * lq;
  // The largest term of the tail 0..k is at min(k, mode): sum relative to it.
  const top = logTerm(Math.min(k, Math.floor((n + 1) * p)));
  let sum = 0;
  for (let i = 0; i <= k; i++) sum += Math.exp(logTerm(i) - top);
  return Math.min(1, Math.exp(top + Math.log(sum)));
}

/**
 * The exact (binomial) p-value of "the rate is above `bound`" after `failures` in `trials`: P(X ≤ failures)
 * for X ~ Binomial(trials, bound), the most a rate at the bound makes so few failures likely (a higher rate
 * makes it less likely). No trials: 1 (nothing observed, nothing rejected).
 */
export function binomialPValue(failures: number, trials: number, bound: number): number {
  if (trials === 0) return 1;
  return binomialCdf(failures, trials, bound);
}

/**
 * The one-sided Clopper–Pearson upper confidence bound on a rate after `failures` in `trials`, at `confidence`:
 * the rate u with P(X ≤ failures; trials, u) = 1 − confidence, i.e. the `confidence` quantile of
 * Beta(failures + 1, trials − failures) (scipy.stats.beta.ppf). failures = trials or trials = 0: 1. It is
 * the dual of binomialPValue: binomialPValue(f, n, b) ≤ 1 − confidence ⇔ upper bound ≤ b.
 */
export function clopperPearsonUpper(failures: number, trials: number, confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (!Number.isInteger(failures) || failures < 0 || failures > trials) throw new RangeError(`failures must be an integer in [0, ${trials}], got ${failures}`);
  if (trials === 0 || failures === trials) return 1;
  const alpha = 1 - confidence;
  // Zero failures has a closed form: (1 − u)^n = α.
  if (failures === 0) return -Math.expm1(Math.log(alpha) / trials);
  // binomialCdf(failures; trials, u) falls from 1 to 0 as u goes from 0 to 1: bisect to double precision.
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(failures, trials, mid) > alpha) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The fewest trials without a failure that bring the Clopper–Pearson upper bound to `bound` at `confidence`: ln(1 − c) / ln(1 − b). */
export function minTrialsToCertify(bound: number, confidence: number): number {
  if (!(bound > 0 && bound < 1) || !(confidence > 0 && confidence < 1)) return Number.POSITIVE_INFINITY;
  return Math.ceil(Math.log(1 - confidence) / Math.log1p(-bound) - 1e-9);
}
