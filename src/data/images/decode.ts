// Image decoding shared by the ETL (decode-check), the training cache and serving: one place decides
// which formats are accepted and how a broken file is reported. PNG and JPEG go through sharp
// (libvips); DICOM through data/dicom (its own parser, codecs and pixel pipeline), which hands back
// 8-bit grey that then takes exactly the same path as a grey PNG.
import sharp, { type Metadata, type Sharp } from 'sharp';

import { firstLineOf, InvalidImageError } from '../../core/errors.js';
import { type DecodedDicom, decodeDicom, type DicomImageInfo, inspectDicom } from '../dicom/decode.js';
import { looksLikeDicom } from '../dicom/parse.js';
import { MAX_IMAGE_PIXELS } from './limits.js';

export { MAX_IMAGE_PIXELS };

export const SUPPORTED_IMAGE_FORMATS = ['png', 'jpeg', 'dicom'] as const;
export type ImageFormat = (typeof SUPPORTED_IMAGE_FORMATS)[number];

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  channels: number;
  /** 8 or 16 bits per sample. */
  bitDepth: number;
}

/** True for bytes the DICOM path reads (Part 10 marker, or a bare dataset as devices send them). */
export const isDicom = looksLikeDicom;

/** Reads the header only (cheap); InvalidImageError for anything that is not a PNG or JPEG we accept. */
export async function readImageHeader(bytes: Uint8Array): Promise<ImageHeader> {
  if (isDicom(bytes)) {
    const { info } = inspectDicom(bytes);
    return { format: 'dicom', width: info.columns, height: info.rows, channels: 1, bitDepth: info.bitsStored > 8 ? 16 : 8 };
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    throw new InvalidImageError(`not a readable image: ${firstLineOf(err)}`);
  }
  const format = meta.format as string;
  if (!(SUPPORTED_IMAGE_FORMATS as readonly string[]).includes(format)) {
    throw new InvalidImageError(`unsupported image format '${format}' (supported: PNG 8/16-bit, JPEG)`, { format });
  }
  const { width, height } = meta;
  if (!width || !height) throw new InvalidImageError('image has no dimensions');
  if (width * height > MAX_IMAGE_PIXELS)
    throw new InvalidImageError(`image is ${width}×${height}, over the ${MAX_IMAGE_PIXELS}-pixel limit`, { width, height });
  return { format: format as ImageFormat, width, height, channels: meta.channels ?? 1, bitDepth: meta.depth === 'ushort' ? 16 : 8 };
}

/**
 * A sharp pipeline over a validated image that fails on truncated or corrupt data (instead of
 * quietly returning grey pixels), with alpha flattened onto black.
 */
export function strictPipeline(bytes: Uint8Array): Sharp {
  return sharp(bytes, { failOn: 'truncated', limitInputPixels: MAX_IMAGE_PIXELS }).flatten({ background: '#000000' });
}

/** Runs a sharp operation, turning decoder failures into InvalidImageError. */
export async function decodeOrThrow<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw new InvalidImageError(`image cannot be decoded: ${firstLineOf(err)}`);
  }
}

export interface GrayscaleImage {
  width: number;
  height: number;
  /** 8-bit luminance, row-major; 16-bit inputs are scaled to 0…255. */
  data: Uint8Array;
}

/** Fully decodes to 8-bit grayscale at native size: the decode-check every dataset image passes. */
export async function decodeGrayscale(bytes: Uint8Array): Promise<GrayscaleImage & { header: ImageHeader; dicom?: DicomImageInfo }> {
  if (isDicom(bytes)) {
    const d = await decodeDicom(bytes);
    return { width: d.width, height: d.height, data: d.data, header: dicomHeader(d), dicom: d.info };
  }
  const header = await readImageHeader(bytes);
  const { data, info } = await decodeOrThrow(() => strictPipeline(bytes).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true }));
  if (info.channels !== 1 || data.length !== info.width * info.height) {
    throw new InvalidImageError(`decoder returned ${info.channels} channels for a grayscale request`);
  }
  return { width: info.width, height: info.height, data, header };
}

/**
 * A sharp pipeline over any accepted image, its header already checked, for callers that resize or
 * render (preprocessing, previews, saliency overlays): PNG/JPEG as strictPipeline after
 * readImageHeader; DICOM decoded to its 8-bit grey first (one parse: decodeDicom does the checks).
 */
export async function imagePipeline(bytes: Uint8Array): Promise<Sharp> {
  if (!isDicom(bytes)) {
    await readImageHeader(bytes);
    return strictPipeline(bytes);
  }
  const d = await decodeDicom(bytes);
  return sharp(d.data, { raw: { width: d.width, height: d.height, channels: 1 } });
}

function dicomHeader(d: DecodedDicom): ImageHeader {
  return { format: 'dicom', width: d.width, height: d.height, channels: 1, bitDepth: d.info.bitsStored > 8 ? 16 : 8 };
}
