import { describe, expect, it } from 'vitest';

import { applyLut, autoWindow, dragWindow, fitView, FULL_WINDOW, MAX_SCALE, panBy, stepWindow, toGray, toImage, windowLut, zoomAt } from './windowLevel.js';

describe('window/level', () => {
  it('the full window is the identity; invert is its mirror', () => {
    const lut = windowLut(FULL_WINDOW);
    const inv = windowLut(FULL_WINDOW, true);
    for (let g = 0; g < 256; g++) {
      expect(lut[g]).toBe(g);
      expect(inv[g]).toBe(255 - g);
    }
  });

  it('a narrow window: black below, white above, a linear ramp across it', () => {
    const lut = windowLut({ center: 100, width: 50 }); // 75 … 125
    expect([lut[0], lut[74], lut[75], lut[100], lut[125], lut[126], lut[255]]).toEqual([0, 0, 0, 128, 255, 255, 255]);
    expect(lut[90]).toBe(Math.round((15 / 50) * 255));
    for (let g = 76; g <= 125; g++) expect(lut[g]!).toBeGreaterThanOrEqual(lut[g - 1]!);
  });

  it('width is clamped to at least 1 grey (a threshold), never a division by zero', () => {
    const lut = windowLut({ center: 128, width: 0 });
    expect([lut[127], lut[129]]).toEqual([0, 255]);
    expect(Array.from(lut).every((v) => Number.isFinite(v))).toBe(true);
  });

  it('applies the table to grey pixels as opaque RGBA; refuses a mismatched buffer', () => {
    const gray = toGray(new Uint8ClampedArray([10, 10, 10, 255, 200, 200, 200, 255, 255, 0, 0, 255]));
    expect(Array.from(gray)).toEqual([10, 200, 76]);
    const out = new Uint8ClampedArray(12);
    applyLut(gray, windowLut(FULL_WINDOW, true), out);
    expect(Array.from(out)).toEqual([245, 245, 245, 255, 55, 55, 55, 255, 179, 179, 179, 255]);
    expect(() => applyLut(gray, windowLut(FULL_WINDOW), new Uint8ClampedArray(8))).toThrow(RangeError);
  });

  it('auto window spans the 1st…99th percentile, ignoring a few outliers', () => {
    const gray = new Uint8Array(1000);
    for (let i = 0; i < 1000; i++) gray[i] = 60 + (i % 81); // 60 … 140
    gray[0] = 0;
    gray[1] = 255;
    const w = autoWindow(gray);
    expect(w.center).toBeCloseTo(100, 0);
    expect(w.width).toBeGreaterThan(70);
    expect(w.width).toBeLessThan(85);
    expect(autoWindow(new Uint8Array(10).fill(7))).toEqual({ center: 7, width: 1 });
  });

  it('drag: x changes the width, y the level; keys step both, within bounds', () => {
    expect(dragWindow({ center: 100, width: 100 }, 10, -20)).toEqual({ center: 80, width: 110 });
    expect(dragWindow({ center: 100, width: 10 }, -500, 0).width).toBe(1);
    expect(stepWindow({ center: 100, width: 100 }, 'narrower')).toEqual({ center: 100, width: 96 });
    expect(stepWindow({ center: 100, width: 100 }, 'wider', true)).toEqual({ center: 100, width: 120 });
    expect(stepWindow({ center: 100, width: 100 }, 'darker').center).toBeGreaterThan(100);
    expect(stepWindow({ center: 100, width: 100 }, 'brighter').center).toBeLessThan(100);
    expect(stepWindow({ center: 383, width: 100 }, 'darker').center).toBe(383);
  });
});

describe('view', () => {
  it('fit: the whole image centred at the largest scale that fits', () => {
    expect(fitView(200, 100, 400, 400)).toEqual({ scale: 2, x: 0, y: 100 });
    expect(fitView(1000, 1000, 500, 250)).toEqual({ scale: 0.25, x: 125, y: 0 });
  });

  it('zoom keeps the image point under the cursor in place, within the scale limits', () => {
    const v = { scale: 2, x: 10, y: 20 };
    const before = toImage(v, 150, 90);
    const z = zoomAt(v, 1.5, 150, 90);
    expect(z.scale).toBe(3);
    const after = toImage(z, 150, 90);
    expect(after.x).toBeCloseTo(before.x, 10);
    expect(after.y).toBeCloseTo(before.y, 10);
    expect(zoomAt({ scale: 30, x: 0, y: 0 }, 10, 0, 0).scale).toBe(MAX_SCALE);
    const out = zoomAt(zoomAt(v, 4, 33, 44), 1 / 4, 33, 44);
    expect(out.x).toBeCloseTo(v.x, 10);
    expect(out.scale).toBeCloseTo(v.scale, 10);
  });

  it('pan moves the offset only', () => {
    expect(panBy({ scale: 2, x: 1, y: 2 }, -5, 7)).toEqual({ scale: 2, x: -4, y: 9 });
  });
});
