import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { grayPng, grayPng16, rgbJpeg } from '../data/images/testing.js';
import { checkImage, declaredDimensions, sniffImageType } from './image-input.js';
import { pngHeaderClaiming } from './testing/http.js';

/** A JPEG that is only a header: SOI, an APP0 segment, then a baseline frame header claiming w×h. */
function jpegHeaderClaiming(width: number, height: number, sof = 0xc0): Buffer {
  const app0 = [0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00];
  const frame = [0xff, sof, 0x00, 0x0b, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x01, 0x01, 0x11, 0x00];
  return Buffer.from([0xff, 0xd8, ...app0, 0xff, 0xff, ...frame, 0xff, 0xd9]);
}

const limits = { maxUploadBytes: 1 << 20, maxImagePixels: 2000 * 2000 };

describe('image input rules', () => {
  it('sniffs PNG and JPEG by their magic bytes only', async () => {
    expect(sniffImageType(await grayPng(4, 4, () => 1))).toBe('png');
    expect(sniffImageType(await rgbJpeg(4, 4, () => 1))).toBe('jpeg');
    expect(
      sniffImageType(
        await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
          .webp()
          .toBuffer(),
      ),
    ).toBeNull();
    expect(sniffImageType(Buffer.from([0x89, 0x50, 0x4e]))).toBeNull();
    expect(sniffImageType(new Uint8Array(0))).toBeNull();
  });

  it('reads the declared size of real PNGs (8/16-bit) and JPEGs (baseline, progressive) without decoding', async () => {
    expect(declaredDimensions(await grayPng(37, 21, () => 5))).toEqual({ width: 37, height: 21 });
    expect(declaredDimensions(await grayPng16(9, 300, () => 5))).toEqual({ width: 9, height: 300 });
    expect(declaredDimensions(await rgbJpeg(50, 13, () => 5))).toEqual({ width: 50, height: 13 });
    const progressive = await sharp({ create: { width: 33, height: 44, channels: 3, background: '#123' } })
      .jpeg({ progressive: true })
      .toBuffer();
    expect(declaredDimensions(progressive)).toEqual({ width: 33, height: 44 });
    expect(declaredDimensions(jpegHeaderClaiming(65000, 65000, 0xc2))).toEqual({ width: 65000, height: 65000 });
    expect(declaredDimensions(pngHeaderClaiming(123456, 7))).toEqual({ width: 123456, height: 7 });
    expect(declaredDimensions(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2]))).toBeNull();
    expect(declaredDimensions(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]))).toBeNull();
  });

  it('refuses decompression bombs by the header, with the stable code and the dimensions', async () => {
    for (const bomb of [pngHeaderClaiming(3000, 3000), pngHeaderClaiming(200_000, 200_000), jpegHeaderClaiming(60000, 60000)]) {
      await expect(checkImage(bomb, limits)).rejects.toMatchObject({ code: 'image_too_large', httpStatus: 422, details: { maxPixels: 4_000_000 } });
    }
  });

  it('accepts an image within the limits and returns its header', async () => {
    expect(await checkImage(await grayPng16(30, 20, (x) => x), limits)).toMatchObject({ format: 'png', width: 30, height: 20, bitDepth: 16 });
  });

  it('codes: empty 400, oversized 413, not an image 415, unreadable 422', async () => {
    await expect(checkImage(new Uint8Array(0), limits)).rejects.toMatchObject({ code: 'invalid_input', httpStatus: 400 });
    await expect(checkImage(new Uint8Array((1 << 20) + 1), limits)).rejects.toMatchObject({ code: 'payload_too_large', httpStatus: 413 });
    await expect(checkImage(Buffer.from('{"not":"an image"}'), limits)).rejects.toMatchObject({ code: 'unsupported_media_type', httpStatus: 415 });
    await expect(checkImage(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]), limits)).rejects.toMatchObject({
      code: 'invalid_image',
      httpStatus: 422,
    });
  });
});
