import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { preprocessImage } from '../images/preprocess.js';
import { grayPng } from '../images/testing.js';
import { letterbox, toInput, toOriginal } from './letterbox.js';
import type { Box } from './types.js';

/** Columns/rows of the preprocessed square brighter than mid-grey: [x0, y0, x1, y1) or null. */
function brightExtent(px: Uint8Array, size: number): [number, number, number, number] | null {
  let [x0, y0, x1, y1] = [size, size, -1, -1];
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) if (px[y * size + x]! > 127) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), Math.max(y1, y + 1)];
  return x1 < 0 ? null : [x0, y0, x1, y1];
}

describe('letterbox', () => {
  it('puts the whole image exactly where preprocessImage puts its pixels (odd paddings included)', async () => {
    for (const [w, h, size] of [
      [300, 200, 64],
      [301, 199, 64],
      [200, 300, 63],
      [37, 100, 64],
      [100, 37, 256],
      [2048, 2500, 256],
    ] as const) {
      const lb = letterbox(w, h, size);
      const whole = toInput({ classId: 0, x0: 0, y0: 0, x1: w, y1: h }, lb);
      const seen = brightExtent(await preprocessImage(await grayPng(w, h, () => 255), size), size);
      expect(seen, `${w}×${h}→${size}`).toEqual([whole.x0, whole.y0, whole.x1, whole.y1]);
    }
  });

  it('carries a box to where its pixels land (within the resampling half-pixel)', async () => {
    const [w, h, size] = [400, 300, 128];
    const box: Box = { classId: 8, x0: 120, y0: 90, x1: 220, y1: 150 };
    const png = await grayPng(w, h, (x, y) => (x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1 ? 255 : 0));
    const seen = brightExtent(await preprocessImage(png, size), size)!;
    const mapped = toInput(box, letterbox(w, h, size));
    const want = [mapped.x0, mapped.y0, mapped.x1, mapped.y1];
    for (let i = 0; i < 4; i++) expect(Math.abs(seen[i]! - want[i]!)).toBeLessThanOrEqual(0.5 + 1e-9);
  });

  it('round-trips boxes original → input → original exactly (to 1e-9 px) and keeps extra fields', () => {
    const rng = new Rng(7);
    const rand = () => rng.next();
    for (let t = 0; t < 500; t++) {
      const w = 16 + Math.floor(rand() * 3000);
      const h = 16 + Math.floor(rand() * 3000);
      const lb = letterbox(w, h, [64, 256, 512, 640, 1024][t % 5]!);
      const xa = rand() * w;
      const xb = rand() * w;
      const ya = rand() * h;
      const yb = rand() * h;
      const b = { classId: t % 14, x0: Math.min(xa, xb), y0: Math.min(ya, yb), x1: Math.max(xa, xb), y1: Math.max(ya, yb), score: 0.5 };
      const back = toOriginal(toInput(b, lb), lb);
      expect(back.classId).toBe(b.classId);
      expect(back.score).toBe(0.5);
      for (const k of ['x0', 'y0', 'x1', 'y1'] as const) expect(Math.abs(back[k] - b[k])).toBeLessThan(1e-9);
    }
  });

  it('clips predictions reaching into the padding back to the image', () => {
    const lb = letterbox(200, 100, 100); // content rows 25…75
    expect(toOriginal({ classId: 0, x0: -5, y0: 10, x1: 120, y1: 90 }, lb)).toEqual({ classId: 0, x0: 0, y0: 0, x1: 200, y1: 100 });
  });

  it('rejects sizes that are not positive integers', () => {
    expect(() => letterbox(0, 10, 64)).toThrow(ValidationError);
    expect(() => letterbox(10, 10, 6.5)).toThrow(ValidationError);
  });
});
