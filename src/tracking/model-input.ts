// Image bytes → the model's input tensor, using THE preprocessing function (the one the training
// cache used) and the normalization stored with the model version.
import { preprocessImage } from '../data/images/preprocess.js';
import type { Preprocessing } from './model-metadata.js';

/** A preprocessing mean or std for channel `c`: one value for all channels, or one per channel. */
export function perChannel(v: number | number[], c: number): number {
  return Array.isArray(v) ? (v.length === 1 ? v[0]! : v[c]!) : v;
}

/** Normalizes size×size uint8 gray pixels into `out` at `offset` as [channels, size, size]. */
export function normalizePixels(pixels: Uint8Array, p: Preprocessing, out: Float32Array, offset = 0): void {
  const plane = p.size * p.size;
  for (let c = 0; c < p.channels; c++) {
    const mean = perChannel(p.mean, c);
    const std = perChannel(p.std, c);
    // x = (v·scale − mean) / std, folded into one multiply-add per pixel.
    const a = p.scale / std;
    const b = mean / std;
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = pixels[i]! * a - b;
  }
}

/** One image → Float32Array [channels, size, size]. InvalidImageError for undecodable input. */
export async function imageToInput(image: Uint8Array, p: Preprocessing): Promise<Float32Array> {
  const pixels = await preprocessImage(image, p.size);
  const out = new Float32Array(p.channels * p.size * p.size);
  normalizePixels(pixels, p, out);
  return out;
}
