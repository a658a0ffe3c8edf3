// The two attribution methods, as size×size maps in the model's letterboxed frame: SmoothGrad
// (Smilkov et al. 2017: |mean input gradient over noisy copies|, max over channels) and occlusion
// sensitivity (Zeiler & Fergus 2014: the drop of the class logit when a square is blacked out, credited
// to the pixels it hid), plus the light blur and percentile scaling both maps get before drawing.
import { init } from '../../engine/index.js';
import type { Geometry, InputGradient } from './gradient-model.js';

/** Logits [n, classes] of n inputs laid end to end. */
export type Forward = (inputs: Float32Array, n: number) => Promise<Float32Array>;

export interface SmoothGradOptions {
  /** Noisy copies averaged (default 8). */
  samples?: number;
  /** Noise σ as a share of the input's value range (default 0.15, the paper's 10-20%). */
  noise?: number;
  /** The noise is seeded: the same request gives the same map. */
  seed?: number;
}

/** SmoothGrad: |mean over noisy copies of ∂logit/∂input|, max over channels. `range` = the input's value range. */
export async function smoothGrad(
  model: InputGradient,
  input: Float32Array,
  classIndex: number,
  range: number,
  o: SmoothGradOptions = {},
): Promise<Float32Array> {
  const samples = o.samples ?? 8;
  const sigma = (o.noise ?? 0.15) * range;
  const rng = init.createRng(o.seed ?? 1);
  const plane = input.length;
  const sum = new Float64Array(plane);
  for (let start = 0; start < samples; start += model.batch) {
    const rows = Math.min(model.batch, samples - start);
    const batch = new Float32Array(model.batch * plane);
    for (let r = 0; r < model.batch; r++) {
      for (let i = 0; i < plane; i++) batch[r * plane + i] = input[i]! + (r < rows ? sigma * rng.normal() : 0);
    }
    const { grad } = await model.run(batch, classIndex);
    for (let r = 0; r < rows; r++) for (let i = 0; i < plane; i++) sum[i]! += grad[r * plane + i]!;
  }
  return maxOverChannels(sum, model.geometry, (v) => Math.abs(v / samples));
}

function maxOverChannels(values: ArrayLike<number>, { channels, size }: Geometry, f: (v: number) => number): Float32Array {
  const px = size * size;
  const out = new Float32Array(px);
  for (let i = 0; i < px; i++) {
    let m = 0;
    for (let c = 0; c < channels; c++) m = Math.max(m, f(values[c * px + i]!));
    out[i] = m;
  }
  return out;
}

export interface OcclusionOptions {
  /** Side of the occluding square (default size/4). */
  patch?: number;
  /** Step between squares (default size/8: every pixel is covered by up to four). */
  stride?: number;
  /** Occluded inputs per forward call (default 16). */
  chunk?: number;
}

/** Square starts along one axis, the last one flush with the edge. */
function starts(size: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let s = 0; s + patch < size; s += stride) out.push(s);
  out.push(size - patch);
  return [...new Set(out)];
}

/**
 * Occlusion sensitivity: for each square, the drop of the class logit when the square is set to
 * `fill` (per channel: the normalized value of a black pixel, what the letterbox pads with); a pixel
 * gets the mean positive drop of the squares that covered it.
 */
export async function occlusionMap(
  forward: Forward,
  input: Float32Array,
  classIndex: number,
  classes: number,
  geometry: Geometry,
  fill: readonly number[],
  o: OcclusionOptions = {},
): Promise<Float32Array> {
  const { channels, size } = geometry;
  const patch = Math.max(1, o.patch ?? Math.round(size / 4));
  const stride = Math.max(1, o.stride ?? Math.round(size / 8));
  const chunk = o.chunk ?? 16;
  const px = size * size;
  const plane = channels * px;
  const base = (await forward(input, 1))[classIndex]!;
  const squares = starts(size, patch, stride).flatMap((y) => starts(size, patch, stride).map((x) => ({ x, y })));
  const credit = new Float64Array(px);
  const cover = new Uint32Array(px);
  for (let s0 = 0; s0 < squares.length; s0 += chunk) {
    const part = squares.slice(s0, s0 + chunk);
    const batch = new Float32Array(part.length * plane);
    part.forEach(({ x, y }, r) => {
      batch.set(input, r * plane);
      for (let c = 0; c < channels; c++)
        for (let yy = y; yy < y + patch; yy++) batch.fill(fill[c] ?? fill[0]!, r * plane + c * px + yy * size + x, r * plane + c * px + yy * size + x + patch);
    });
    const logits = await forward(batch, part.length);
    part.forEach(({ x, y }, r) => {
      const drop = Math.max(0, base - logits[r * classes + classIndex]!);
      for (let yy = y; yy < y + patch; yy++) {
        for (let xx = x; xx < x + patch; xx++) {
          credit[yy * size + xx]! += drop;
          cover[yy * size + xx]! += 1;
        }
      }
    });
  }
  return Float32Array.from(credit, (v, i) => (cover[i] ? v / cover[i]! : 0));
}

/** Separable Gaussian blur of a size×size map (edges clamped). */
export function gaussianBlur(map: Float32Array, size: number, sigma: number): Float32Array {
  if (!(sigma > 0)) return Float32Array.from(map);
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  const pass = (src: Float32Array, horizontal: boolean): Float32Array => {
    const dst = new Float32Array(src.length);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = horizontal ? Math.min(size - 1, Math.max(0, x + k)) : x;
          const yy = horizontal ? y : Math.min(size - 1, Math.max(0, y + k));
          acc += kernel[k + radius]! * src[yy * size + xx]!;
        }
        dst[y * size + x] = acc / total;
      }
    }
    return dst;
  };
  return pass(pass(map, true), false);
}

/** Scales a non-negative map into [0, 1] by its 99th percentile (one hot pixel does not wash out the rest). */
export function normalizeMap(map: Float32Array): Float32Array {
  const finite = Float32Array.from(map, (v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const sorted = Float32Array.from(finite).sort();
  const top = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]! || sorted[sorted.length - 1]!;
  return top > 0 ? finite.map((v) => Math.min(1, v / top)) : finite;
}
