// THE preprocessing function: the training cache and the serving path both call it, so a model sees
// exactly the same pixels in production as in training.
//
// Policy: decode (PNG 8/16-bit, JPEG; DICOM through data/dicom's pixel pipeline to 8-bit grey, its
// own window applied) → flatten alpha onto black → grayscale (16-bit inputs scaled
// linearly to 0…255) → LETTERBOX to size×size: scale the longer side to `size`, keep the aspect
// ratio, pad the shorter side symmetrically with black (0), Lanczos-3 resampling → uint8, row-major.
// Letterbox rather than squash (distorts anatomy: OCT B-scans are ~1.5:1) or center crop (can cut
// off the finding at an edge, e.g. a peripheral opacity or a drusen at the scan's end).
import { InvalidImageError } from '../../core/errors.js';
import { decodeOrThrow, imagePipeline } from './decode.js';

export const PREPROCESS_POLICY = {
  name: 'grayscale-letterbox-lanczos3-uint8',
  /** Bump when the pixels this function returns change, so caches built with the old code are rebuilt. */
  version: 1,
} as const;

export const MIN_SIZE = 8;
export const MAX_SIZE = 2048;

/** Returns size×size uint8 pixels (row-major, 0 = black). InvalidImageError for undecodable input. */
export async function preprocessImage(bytes: Uint8Array, size: number): Promise<Uint8Array> {
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw new InvalidImageError(`preprocess size must be an integer in ${MIN_SIZE}…${MAX_SIZE}, got ${size}`);
  }
  const pipeline = await imagePipeline(bytes);
  const { data, info } = await decodeOrThrow(() =>
    pipeline
      .greyscale()
      .resize(size, size, { fit: 'contain', position: 'centre', background: { r: 0, g: 0, b: 0 }, kernel: 'lanczos3' })
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true }),
  );
  if (info.width !== size || info.height !== size || info.channels !== 1 || data.length !== size * size) {
    throw new InvalidImageError(`preprocessing produced ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×1`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}
