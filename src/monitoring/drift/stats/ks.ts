// Two-sample Kolmogorov–Smirnov test: D = sup |F_ref(x) − F_win(x)| over the pooled sample, p-value from the
// asymptotic Kolmogorov distribution with Stephens' small-sample correction (Numerical Recipes §14.3):
// p = Q_KS((√Ne + 0.12 + 0.11/√Ne)·D), Ne = n·m/(n+m). Distribution-free, so one function serves the top-class
// confidence and every image statistic. Ties (e.g. many confidences of exactly 1) are stepped over together.

export interface KsResult {
  statistic: number;
  pValue: number;
}

/** Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2 j² λ²}: the survival function of the Kolmogorov distribution. */
export function kolmogorovSurvival(lambda: number): number {
  if (lambda < 1e-3) return 1;
  let sum = 0;
  let sign = 1;
  for (let j = 1; j <= 100; j++) {
    const term = sign * Math.exp(-2 * j * j * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12 * Math.abs(sum) || Math.abs(term) < 1e-300) return clamp01(2 * sum);
    sign = -sign;
  }
  return 1; // the series did not converge: only for λ → 0, where Q_KS → 1
}

/** The KS statistic D of two samples (neither may be empty). */
export function ksStatistic(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || b.length === 0) throw new RangeError('KS needs two non-empty samples');
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

export function ksTwoSample(a: readonly number[], b: readonly number[]): KsResult {
  const statistic = ksStatistic(a, b);
  const ne = (a.length * b.length) / (a.length + b.length);
  const s = Math.sqrt(ne);
  return { statistic, pValue: kolmogorovSurvival((s + 0.12 + 0.11 / s) * statistic) };
}

function clamp01(p: number): number {
  return Math.min(1, Math.max(0, p));
}
