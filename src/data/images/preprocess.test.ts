import { describe, expect, it } from 'vitest';

import { InvalidImageError } from '../../core/errors.js';
import { preprocessImage } from './preprocess.js';
import { grayPng, grayPng16, rgbJpeg } from './testing.js';

const ramp = (x: number, y: number) => (x * 7 + y * 3) % 256;

describe('preprocessImage', () => {
  it('letterboxes: keeps aspect ratio and pads the short side with black, centred', async () => {
    const out = await preprocessImage(await grayPng(200, 100, () => 255), 64);
    expect(out.length).toBe(64 * 64);
    const row = (y: number) => Array.from(out.subarray(y * 64, y * 64 + 64));
    for (const y of [0, 10, 15, 48, 55, 63]) expect(row(y).every((v) => v === 0)).toBe(true);
    for (const y of [17, 32, 46]) expect(row(y).every((v) => v === 255)).toBe(true);
  });

  it('gives identical pixels for a 16-bit PNG and its 8-bit twin, and near-identical for RGB JPEG', async () => {
    const a = await preprocessImage(await grayPng(120, 90, ramp), 32);
    const b = await preprocessImage(await grayPng16(120, 90, ramp), 32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const smooth = (x: number, y: number) => x + y;
    const p = await preprocessImage(await grayPng(120, 120, smooth), 32);
    const j = await preprocessImage(await rgbJpeg(120, 120, smooth), 32);
    const maxDiff = p.reduce((m, v, i) => Math.max(m, Math.abs(v - j[i]!)), 0);
    expect(maxDiff).toBeLessThanOrEqual(4);
  });

  it('is deterministic and rejects bad sizes and bad images', async () => {
    const img = await grayPng(50, 70, ramp);
    expect(Buffer.from(await preprocessImage(img, 16)).equals(Buffer.from(await preprocessImage(img, 16)))).toBe(true);
    await expect(preprocessImage(img, 3)).rejects.toBeInstanceOf(InvalidImageError);
    await expect(preprocessImage(Buffer.from('xx'), 16)).rejects.toBeInstanceOf(InvalidImageError);
  });
});
