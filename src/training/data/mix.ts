// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) on a prepared batch, as timm's Mixup does them in its
// default 'batch' mode: one λ ~ Beta(α, α) per batch, image i mixed with image B − 1 − i (the batch reversed),
//   mixup:  x_i ← λ·x_i + (1 − λ)·x_{B−1−i}
//   cutmix: a box of side √(1 − λ)·S at a uniform centre (clipped to the image) is pasted from x_{B−1−i}, and λ is
//           corrected to the share of pixels left uncut
// and the targets t_i = λ·onehot(y_i) + (1 − λ)·onehot(y_{B−1−i}), read by the soft-target loss (label smoothing
// is applied there, to the mixed targets). With both enabled each batch uses one of the two with probability ½.
import type { Rng } from '../../core/rng.js';

export interface MixConfig {
  /** Mixup's α (0: off). */
  mixup: number;
  /** CutMix's α (0: off). */
  cutmix: number;
  numClasses: number;
}

export function mixEnabled(cfg: MixConfig | null | undefined): cfg is MixConfig {
  return !!cfg && (cfg.mixup > 0 || cfg.cutmix > 0);
}

/** One batch's draw: which mix, its λ (after cutmix's correction) and cutmix's box [x0, x1) × [y0, y1). */
export interface MixDraw {
  lambda: number;
  box?: { x0: number; y0: number; x1: number; y1: number };
}

/** Draws the batch's mix for images of side `size`. */
export function drawMix(rng: Rng, cfg: MixConfig, size: number): MixDraw {
  const useCutmix = cfg.cutmix > 0 && (cfg.mixup <= 0 || rng.chance(0.5));
  const lambda = sampleBeta(rng, useCutmix ? cfg.cutmix : cfg.mixup);
  if (!useCutmix) return { lambda };
  const cut = Math.sqrt(1 - lambda);
  const h = Math.floor(size * cut);
  const w = Math.floor(size * cut);
  const cy = rng.int(0, size - 1);
  const cx = rng.int(0, size - 1);
  const box = {
    x0: clamp(cx - (w >> 1), size),
    x1: clamp(cx + (w >> 1), size),
    y0: clamp(cy - (h >> 1), size),
    y1: clamp(cy + (h >> 1), size),
  };
  return { lambda: 1 - ((box.x1 - box.x0) * (box.y1 - box.y0)) / (size * size), box };
}

/**
 * Mixes `images` ([n, size, size] packed, single channel) in place by `draw` and returns the soft targets [n, C]
 * of `labels`.
 */
export function applyMix(images: Float32Array, labels: BigInt64Array, size: number, numClasses: number, draw: MixDraw): Float32Array {
  const n = labels.length;
  const px = size * size;
  const original = images.slice();
  const { lambda, box } = draw;
  for (let i = 0; i < n; i++) {
    const j = n - 1 - i;
    const dst = images.subarray(i * px, (i + 1) * px);
    const other = original.subarray(j * px, (j + 1) * px);
    if (box) {
      for (let y = box.y0; y < box.y1; y++) dst.set(other.subarray(y * size + box.x0, y * size + box.x1), y * size + box.x0);
    } else {
      for (let k = 0; k < px; k++) dst[k] = lambda * (dst[k] as number) + (1 - lambda) * (other[k] as number);
    }
  }
  const targets = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const a = i * numClasses + Number(labels[i]);
    const b = i * numClasses + Number(labels[n - 1 - i]);
    targets[a] = (targets[a] as number) + lambda;
    targets[b] = (targets[b] as number) + (1 - lambda);
  }
  return targets;
}

function clamp(v: number, size: number): number {
  return Math.min(size, Math.max(0, v));
}

/** Beta(α, α) as X / (X + Y) with X, Y ~ Gamma(α). */
export function sampleBeta(rng: Rng, alpha: number): number {
  const x = sampleGamma(rng, alpha);
  const y = sampleGamma(rng, alpha);
  return x + y > 0 ? x / (x + y) : 0.5;
}

/** Gamma(α, 1): Marsaglia & Tsang (2000); for α < 1, Gamma(α + 1)·U^(1/α). */
function sampleGamma(rng: Rng, alpha: number): number {
  if (alpha < 1) return sampleGamma(rng, alpha + 1) * Math.pow(1 - rng.next(), 1 / alpha);
  const d = alpha - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = rng.normal();
    const v = (1 + c * z) ** 3;
    if (v <= 0) continue;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
  }
}
