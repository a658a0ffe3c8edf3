// Maximum mean discrepancy between two samples of embeddings (Gretton et al. 2012) with a Gaussian kernel whose
// bandwidth is the median pairwise distance of the pooled sample (the median heuristic), and a permutation p-value:
// the unbiased MMD² of the observed split against `permutations` random re-splits of the pooled sample,
// p = (1 + #{MMD²_perm ≥ MMD²_obs}) / (1 + permutations) — exact in level whatever the dimension. The kernel
// matrix is computed once; a permutation only re-indexes it. Seeded, so a check is reproducible.
import { Rng } from '../../../core/rng.js';

export interface MmdResult {
  /** Unbiased MMD² of the observed split. */
  statistic: number;
  pValue: number;
  bandwidth: number;
  permutations: number;
}

export interface MmdOptions {
  permutations?: number;
  seed?: number;
}

export function mmdPermutationTest(x: readonly Float32Array[], y: readonly Float32Array[], o: MmdOptions = {}): MmdResult {
  if (x.length < 2 || y.length < 2) throw new RangeError('MMD needs at least two embeddings in each sample');
  const pooled = [...x, ...y];
  const dim = pooled[0]!.length;
  if (pooled.some((v) => v.length !== dim)) throw new RangeError('embeddings of different lengths');
  const n = pooled.length;
  const d2 = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const a = pooled[i]!;
      const b = pooled[j]!;
      let s = 0;
      for (let k = 0; k < dim; k++) s += (a[k]! - b[k]!) ** 2;
      d2[i * n + j] = s;
      d2[j * n + i] = s;
    }
  const bandwidth = medianHeuristic(d2, n);
  const gamma = 1 / (2 * bandwidth * bandwidth);
  const k = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) k[i] = Math.exp(-gamma * d2[i]!);

  const idx = Array.from({ length: n }, (_, i) => i);
  const observed = unbiasedMmd2(k, n, idx, x.length);
  const permutations = o.permutations ?? 200;
  const rng = new Rng(o.seed ?? 0x5eed);
  let exceed = 0;
  for (let p = 0; p < permutations; p++) {
    shuffle(idx, rng);
    if (unbiasedMmd2(k, n, idx, x.length) >= observed) exceed++;
  }
  return { statistic: observed, pValue: (1 + exceed) / (1 + permutations), bandwidth, permutations };
}

/** MMD²_u of the split idx[0..m) vs idx[m..n) over the kernel matrix k [n × n]. */
export function unbiasedMmd2(k: Float64Array, n: number, idx: readonly number[], m: number): number {
  const q = n - m;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (let a = 0; a < n; a++) {
    const ia = idx[a]! * n;
    for (let b = a + 1; b < n; b++) {
      const v = k[ia + idx[b]!]!;
      if (a < m && b < m) xx += v;
      else if (a >= m && b >= m) yy += v;
      else xy += v;
    }
  }
  return (2 * xx) / (m * (m - 1)) + (2 * yy) / (q * (q - 1)) - (2 * xy) / (m * q);
}

function medianHeuristic(d2: Float64Array, n: number): number {
  const dists: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) dists.push(Math.sqrt(d2[i * n + j]!));
  dists.sort((a, b) => a - b);
  const med = dists[Math.floor(dists.length / 2)]!;
  return med > 0 ? med : 1; // all points equal: any bandwidth gives MMD² = 0
}

function shuffle(a: number[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}
