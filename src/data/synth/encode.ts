// Encodes 8-bit grayscale pixels as the original datasets store them: PNG for the chest X-ray
// databases, JPEG for OCT2017. sharp's encoders are deterministic for fixed options.
import sharp from 'sharp';

import type { GrayImage } from './types.js';

// Level 3 with adaptive filtering: about as small as level 6 and faster on noisy radiographs.
export const PNG_OPTIONS = { compressionLevel: 3, adaptiveFiltering: true } as const;
export const JPEG_OPTIONS = { quality: 90, mozjpeg: false } as const;

export async function encodeGray(image: GrayImage, format: 'png' | 'jpeg'): Promise<Buffer> {
  // Without 'b-w' sharp would write 3-channel sRGB files; the originals are single-channel.
  const input = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 1 },
  }).toColourspace('b-w');
  return format === 'png' ? input.png(PNG_OPTIONS).toBuffer() : input.jpeg(JPEG_OPTIONS).toBuffer();
}
