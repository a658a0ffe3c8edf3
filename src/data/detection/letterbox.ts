// Boxes through the letterbox, exactly. data/images/preprocess.ts letterboxes every image to size×size
// (sharp `fit: 'contain'`, centred, black padding): the longer side is scaled to `size`, the resized
// sides are rounded to whole pixels and the padding is split with the odd pixel going right/bottom
// (floor on the left/top). A box follows the image content, so its mapping uses the ROUNDED content
// size per axis (sx = contentWidth / width, sy = contentHeight / height), not the one nominal scale:
// the two differ by up to half a pixel, which on a 14-px nodule at 256 px is not noise.
import { ValidationError } from '../../core/errors.js';
import type { Box } from './types.js';

export interface Letterbox {
  /** The original image's size. */
  width: number;
  height: number;
  /** The model input's side. */
  size: number;
  /** Where the image content sits inside the square: offset and rounded size, in input pixels. */
  padX: number;
  padY: number;
  contentWidth: number;
  contentHeight: number;
}

export function letterbox(width: number, height: number, size: number): Letterbox {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
    ['size', size],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new ValidationError(`letterbox: ${name} must be a positive integer, got ${v}`);
  }
  const scale = size / Math.max(width, height);
  const contentWidth = Math.min(size, Math.max(1, Math.round(width * scale)));
  const contentHeight = Math.min(size, Math.max(1, Math.round(height * scale)));
  return {
    width,
    height,
    size,
    padX: Math.floor((size - contentWidth) / 2),
    padY: Math.floor((size - contentHeight) / 2),
    contentWidth,
    contentHeight,
  };
}

/** A box in original-image pixels → the same box in model-input pixels. */
export function toInput<B extends Box>(box: B, lb: Letterbox): B {
  const sx = lb.contentWidth / lb.width;
  const sy = lb.contentHeight / lb.height;
  return { ...box, x0: box.x0 * sx + lb.padX, y0: box.y0 * sy + lb.padY, x1: box.x1 * sx + lb.padX, y1: box.y1 * sy + lb.padY };
}

/**
 * A box in model-input pixels → original-image pixels, clipped to the image (a predicted box may
 * reach into the padding; the part outside the image is not a finding's extent).
 */
export function toOriginal<B extends Box>(box: B, lb: Letterbox): B {
  const sx = lb.contentWidth / lb.width;
  const sy = lb.contentHeight / lb.height;
  const clip = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  return {
    ...box,
    x0: clip((box.x0 - lb.padX) / sx, lb.width),
    y0: clip((box.y0 - lb.padY) / sy, lb.height),
    x1: clip((box.x1 - lb.padX) / sx, lb.width),
    y1: clip((box.y1 - lb.padY) / sy, lb.height),
  };
}
