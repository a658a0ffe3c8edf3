// Input rules for uploaded images, applied before anything decodes them: the type comes from the
// magic bytes (never from the client's Content-Type or file name), and the pixel count from the
// header (cheap) — a 100 000² PNG of a few kilobytes is refused before it can take gigabytes.
import { ValidationError } from '../core/errors.js';
import { type ImageHeader, isDicom, MAX_IMAGE_PIXELS, readImageHeader } from '../data/images/decode.js';
import { ImageTooLargeError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.js';
import type { ApiLimits } from './types.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

/** The image type the bytes announce, or null for anything else (DICOM: "DICM" at 128 or a bare dataset). */
export function sniffImageType(bytes: Uint8Array): 'png' | 'jpeg' | 'dicom' | null {
  const starts = (magic: number[]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
  if (starts(PNG_MAGIC)) return 'png';
  if (starts(JPEG_MAGIC)) return 'jpeg';
  if (isDicom(bytes)) return 'dicom';
  return null;
}

/**
 * Width and height as the file's header declares them, read from the bytes without a decoder (PNG
 * IHDR; JPEG start-of-frame), or null when the header is not where it should be. The decoder refuses
 * absurd sizes by itself but without saying what it saw; this lets the answer name the dimensions.
 */
export function declaredDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = sniffImageType(bytes);
  if (type === 'png') {
    const isIhdr = bytes.length >= 24 && String.fromCharCode(...bytes.subarray(12, 16)) === 'IHDR';
    return isIhdr ? { width: view.getUint32(16), height: view.getUint32(20) } : null;
  }
  if (type === 'jpeg') {
    let at = 2;
    while (at + 9 <= bytes.length) {
      if (bytes[at] !== 0xff) return null;
      const marker = bytes[at + 1]!;
      if (marker === 0xff) {
        at += 1; // fill byte
        continue;
      }
      // SOF0…SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
      }
      if (marker === 0xd9 || marker === 0xda) return null; // end of image / start of scan before any frame
      at += 2 + view.getUint16(at + 2);
    }
  }
  return null;
}

/** Checks one uploaded image (what = how to name it in messages, e.g. "file 3"); returns its header. */
export async function checkImage(bytes: Uint8Array, limits: Pick<ApiLimits, 'maxUploadBytes' | 'maxImagePixels'>, what = 'image'): Promise<ImageHeader> {
  if (bytes.length === 0) throw new ValidationError(`${what} is empty: send PNG, JPEG or DICOM bytes`);
  if (bytes.length > limits.maxUploadBytes)
    throw new PayloadTooLargeError(`${what} is ${bytes.length} bytes, over the ${limits.maxUploadBytes}-byte limit`, {
      bytes: bytes.length,
      limit: limits.maxUploadBytes,
    });
  if (sniffImageType(bytes) === null) throw new UnsupportedMediaTypeError(`${what} is not a PNG, JPEG or DICOM file (judged by its first bytes)`);
  const maxPixels = Math.min(limits.maxImagePixels, MAX_IMAGE_PIXELS);
  const declared = declaredDimensions(bytes);
  if (declared && declared.width * declared.height > maxPixels) throw new ImageTooLargeError(declared.width, declared.height, maxPixels);
  // The decoder's reading of the header is the authority (format, bit depth, a header we could not parse).
  const header = await readImageHeader(bytes);
  if (header.width * header.height > maxPixels) throw new ImageTooLargeError(header.width, header.height, maxPixels);
  return header;
}
