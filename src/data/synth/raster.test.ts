import { describe, expect, it } from 'vitest';

import { blur, blurredCopy, createRaster, type Raster, toUint8, transform } from './raster.js';

function impulse(size: number): Raster {
  const r = createRaster(size, size);
  r.data[(size / 2) * size + size / 2] = 1;
  return r;
}

function moments(r: Raster): { sum: number; varX: number } {
  let sum = 0;
  let mx = 0;
  for (let y = 0; y < r.height; y++)
    for (let x = 0; x < r.width; x++) {
      sum += r.data[y * r.width + x] as number;
      mx += x * (r.data[y * r.width + x] as number);
    }
  mx /= sum;
  let vx = 0;
  for (let y = 0; y < r.height; y++) for (let x = 0; x < r.width; x++) vx += (x - mx) ** 2 * (r.data[y * r.width + x] as number);
  return { sum, varX: vx / sum };
}

describe('raster', () => {
  it('blur keeps the total and spreads an impulse to about the requested sigma', () => {
    const r = impulse(64);
    blur(r, 4);
    const m = moments(r);
    expect(m.sum).toBeCloseTo(1, 4);
    expect(Math.sqrt(m.varX)).toBeGreaterThan(3.5);
    expect(Math.sqrt(m.varX)).toBeLessThan(4.6);
  });

  it('blurredCopy (down-sampled) matches a full blur on smooth content', () => {
    const r = createRaster(96, 96);
    for (let y = 0; y < 96; y++) for (let x = 0; x < 96; x++) r.data[y * 96 + x] = x > 30 && x < 70 && y > 20 && y < 60 ? 1 : 0;
    const fast = blurredCopy(r, 15);
    const full: Raster = { ...r, data: r.data.slice() };
    blur(full, 15);
    let maxErr = 0;
    for (let i = 0; i < fast.data.length; i++) maxErr = Math.max(maxErr, Math.abs((fast.data[i] as number) - (full.data[i] as number)));
    expect(maxErr).toBeLessThan(0.06);
  });

  it('identity transform reproduces the input; a shift moves content and fills the edge', () => {
    const r = createRaster(16, 16);
    for (let i = 0; i < r.data.length; i++) r.data[i] = (i % 7) / 7;
    const same = transform(r, { angle: 0, scale: 1, shiftX: 0, shiftY: 0, fill: -1 });
    for (let x = 0; x < 15; x++) expect(same.data[5 * 16 + x]).toBeCloseTo(r.data[5 * 16 + x] as number, 5);
    const shifted = transform(r, { angle: 0, scale: 1, shiftX: 3, shiftY: 0, fill: -1 });
    expect(shifted.data[5 * 16 + 0]).toBe(-1);
    expect(shifted.data[5 * 16 + 8]).toBeCloseTo(r.data[5 * 16 + 5] as number, 5);
    const up = transform(r, { angle: 0, scale: 1, shiftX: 0, shiftY: 0, fill: 0, width: 32, height: 32 });
    expect(up.width).toBe(32);
  });

  it('toUint8 rounds and clips', () => {
    const r = createRaster(4, 1);
    r.data.set([-0.5, 0.5, 1 / 255 + 0.001, 2]);
    expect([...toUint8(r)]).toEqual([0, 128, 1, 255]);
  });
});
