// Holm's step-down correction (Holm 1979) for the family of tests one drift check runs: it controls the
// family-wise error rate at α like Bonferroni, without assuming the tests are independent (they are not: the
// confidence and the predicted class come from the same softmax), and rejects at least as often as Bonferroni.
// Adjusted p_(i) = max_{j≤i} min(1, (m − j + 1)·p_(j)) over the p-values in ascending order.

/** Holm-adjusted p-values, in the input order; reject test i at family-wise level α when adjusted[i] ≤ α. */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p || x.i - y.i);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}
