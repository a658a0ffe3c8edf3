import { describe, expect, it } from 'vitest';

import { InvalidImageError } from '../../core/errors.js';
import { decodeGrayscale, readImageHeader } from './decode.js';
import { grayPng, grayPng16, rgbJpeg, truncated } from './testing.js';

const ramp = (x: number, y: number) => (x * 7 + y * 3) % 256;

describe('decode', () => {
  it('reads PNG 8-bit, PNG 16-bit and JPEG headers', async () => {
    expect(await readImageHeader(await grayPng(30, 20, ramp))).toMatchObject({ format: 'png', width: 30, height: 20, bitDepth: 8 });
    expect(await readImageHeader(await grayPng16(30, 20, ramp))).toMatchObject({ format: 'png', bitDepth: 16 });
    expect(await readImageHeader(await rgbJpeg(30, 20, ramp))).toMatchObject({ format: 'jpeg', channels: 3 });
  });

  it('decodes 16-bit PNGs to the same 8-bit pixels as their 8-bit twin', async () => {
    const a = await decodeGrayscale(await grayPng(30, 20, ramp));
    const b = await decodeGrayscale(await grayPng16(30, 20, ramp));
    expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
  });

  it('refuses garbage, unsupported formats and truncated files with InvalidImageError', async () => {
    await expect(decodeGrayscale(Buffer.from('not an image at all'))).rejects.toBeInstanceOf(InvalidImageError);
    const sharp = (await import('sharp')).default;
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } })
      .gif()
      .toBuffer();
    await expect(decodeGrayscale(gif)).rejects.toThrow(/unsupported image format 'gif'/);
    const noisy = (x: number, y: number) => (x * 7919 + y * 104729) % 251;
    await expect(decodeGrayscale(truncated(await grayPng(200, 200, noisy)))).rejects.toBeInstanceOf(InvalidImageError);
    await expect(decodeGrayscale(truncated(await rgbJpeg(200, 200, noisy)))).rejects.toBeInstanceOf(InvalidImageError);
  });
});
