// Boxes follow their pixels: a bright rectangle is augmented with augmentInto and its box with augmentBoxes, and the
// bright region of the output is where the mapped box says (within a pixel: bilinear edges).
import { describe, expect, it } from 'vitest';

import { Rng } from '../../core/rng.js';
import { augmentInto, type AugmentParams, DEFAULT_AUGMENT, IDENTITY_PARAMS } from './augment.js';
import { augmentBoxes, drawBoxAugment } from './augment-boxes.js';

const S = 64;
const NORM = { mean: 0, std: 1 };

function rectangle(box: number[]): Uint8Array {
  const img = new Uint8Array(S * S);
  for (let y = box[1]!; y < box[3]!; y++) for (let x = box[0]!; x < box[2]!; x++) img[y * S + x] = 255;
  return img;
}

/** Bounding box of output pixels brighter than half (x0, y0, x1, y1, continuous coordinates). */
function brightBox(out: Float32Array): number[] {
  let [x0, y0, x1, y1] = [S, S, 0, 0];
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++)
      if (out[y * S + x]! > 0.5) {
        [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), Math.max(y1, y + 1)];
      }
  return [x0, y0, x1, y1];
}

describe('box-aware augmentation', () => {
  it('identity keeps boxes; a flip mirrors them', () => {
    const box = [10, 12, 30, 40];
    expect(Array.from(augmentBoxes(box, S, IDENTITY_PARAMS(S)).boxes)).toEqual(box);
    expect(Array.from(augmentBoxes(box, S, { ...IDENTITY_PARAMS(S), flip: true }).boxes)).toEqual([34, 12, 54, 40]);
  });

  it('the box of a bright rectangle matches its pixels after random scale/translate/flip/intensity draws', () => {
    const box = [14, 20, 38, 44];
    const src = rectangle(box);
    const rng = new Rng(7);
    const cfg = { ...DEFAULT_AUGMENT, cropMinScale: 0.5, hflip: true, rotateDegrees: 15, brightness: 0.1, contrast: 0 };
    let flips = 0;
    for (let trial = 0; trial < 12; trial++) {
      const p = drawBoxAugment(rng, S, cfg);
      expect(p.angle === 0).toBe(true); // (−0 from the zero-width draw)
      flips += p.flip ? 1 : 0;
      const out = new Float32Array(S * S);
      augmentInto(src, S, p, NORM, out, 0);
      const mapped = augmentBoxes(box, S, p);
      expect(mapped.kept).toEqual([0]);
      brightBox(out).forEach((v, i) => expect(Math.abs(v - mapped.boxes[i]!)).toBeLessThanOrEqual(1.01));
    }
    expect(flips).toBeGreaterThan(0);
  });

  it('drops boxes pushed out of view or squeezed below 2 px, and refuses rotation', () => {
    // Crop the right half of the image (zoom 2× on x ≥ 32): a box at x < 24 leaves the view.
    const p: AugmentParams = { ...IDENTITY_PARAMS(S), cropW: 32, cropH: 32, cx: 48, cy: 48 };
    const r = augmentBoxes([2, 40, 20, 60, 40, 40, 60, 60, 40, 40, 60, 40.5], S, p);
    expect(r.kept).toEqual([1]);
    expect(Array.from(r.boxes)).toEqual([16, 16, 56, 56]);
    expect(() => augmentBoxes([0, 0, 4, 4], S, { ...IDENTITY_PARAMS(S), angle: 0.1 })).toThrow(/rotated/);
  });
});
