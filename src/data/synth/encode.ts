// Encodes 8-bit grayscale pixels as the original datasets store them: PNG for the chest X-ray
// databases, JPEG for OCT2017. sharp's encoders are deterministic for fixed options.
import sharp from 'sharp';
import type { GrayImage } from './types.js';

export const PNG_OPTIONS = { compressionLevel: 6, adaptiveFiltering: false } as const;
export const JPEG_OPTIONS = { quality: 90, mozjpeg: false } as const;

export async function encodeGray(image: GrayImage, format: 'png' | 'jpeg'): Promise<Buffer> {
  const input = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 1 },
  });
  return format === 'png' ? input.png(PNG_OPTIONS).toBuffer() : input.jpeg(JPEG_OPTIONS).toBuffer();
}
