// Test helpers: tiny deterministic images in the formats the datasets use.
import sharp from 'sharp';

export type PixelFn = (x: number, y: number) => number;

function pixels8(width: number, height: number, px: PixelFn): Uint8Array {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = Math.max(0, Math.min(255, Math.round(px(x, y))));
  return data;
}

/** An 8-bit grayscale PNG. */
export async function grayPng(width: number, height: number, px: PixelFn): Promise<Buffer> {
  return sharp(pixels8(width, height, px), { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
}

/** A 16-bit grayscale PNG whose values are 257 × the 8-bit function (so it scales back exactly). */
export async function grayPng16(width: number, height: number, px: PixelFn): Promise<Buffer> {
  const p8 = pixels8(width, height, px);
  const data = new Uint16Array(p8.length);
  for (let i = 0; i < p8.length; i++) data[i] = p8[i]! * 257;
  return sharp(data, { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
}

/** An RGB JPEG (real OCT files are grayscale JPEGs, CXR PNGs are sometimes RGB). */
export async function rgbJpeg(width: number, height: number, px: PixelFn): Promise<Buffer> {
  const p8 = pixels8(width, height, px);
  const rgb = new Uint8Array(p8.length * 3);
  for (let i = 0; i < p8.length; i++) rgb.fill(p8[i]!, i * 3, i * 3 + 3);
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** A PNG cut short: the header is intact (so it looks like a PNG) but the pixel data is not. */
export function truncated(image: Buffer): Buffer {
  return image.subarray(0, Math.max(64, image.length >> 1));
}
