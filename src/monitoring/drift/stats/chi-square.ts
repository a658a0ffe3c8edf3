// Pearson's chi-square test of homogeneity between two count vectors over the same categories (the reference's and
// a window's predicted-class counts: BBSD, Lipton et al. 2018). Categories empty in both samples carry no
// information and are dropped (they would add 0/0 terms); df = (categories kept − 1). The p-value is the chi-square
// survival function, Q(df/2, x/2), the regularized upper incomplete gamma function.

export interface ChiSquareResult {
  statistic: number;
  df: number;
  pValue: number;
}

export function chiSquareHomogeneity(reference: readonly number[], window: readonly number[]): ChiSquareResult {
  if (reference.length !== window.length) throw new RangeError(`${reference.length} reference categories, ${window.length} window categories`);
  const nr = sum(reference);
  const nw = sum(window);
  if (nr === 0 || nw === 0) throw new RangeError('chi-square needs two non-empty samples');
  const n = nr + nw;
  let stat = 0;
  let kept = 0;
  for (let c = 0; c < reference.length; c++) {
    const col = reference[c]! + window[c]!;
    if (col === 0) continue;
    kept++;
    const er = (nr * col) / n;
    const ew = (nw * col) / n;
    stat += (reference[c]! - er) ** 2 / er + (window[c]! - ew) ** 2 / ew;
  }
  const df = kept - 1;
  return { statistic: stat, df, pValue: df <= 0 ? 1 : chiSquareSurvival(stat, df) };
}

/** P(X ≥ x) for X ~ χ²(df). */
export function chiSquareSurvival(x: number, df: number): number {
  if (x <= 0) return 1;
  return upperRegularizedGamma(df / 2, x / 2);
}

/** Q(a, x) = Γ(a, x)/Γ(a): series for x < a+1, Lentz's continued fraction otherwise (Numerical Recipes §6.2). */
export function upperRegularizedGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let s = term;
    for (let k = 1; k < 1000; k++) {
      term *= x / (a + k);
      s += term;
      if (Math.abs(term) < Math.abs(s) * 1e-15) break;
    }
    return Math.max(0, 1 - s * Math.exp(lnPrefix));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(lnPrefix) * h);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: ~15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0]!;
  const t = z + g + 0.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

function sum(v: readonly number[]): number {
  let s = 0;
  for (const x of v) s += x;
  return s;
}
