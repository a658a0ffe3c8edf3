// One rule for a box read from an annotation file, whatever the format: its corners must lie inside
// the image. Annotation tools snap to pixel edges and store percentages or fractions, so a corner up
// to BOX_TOLERANCE_PX outside is rounding and is clipped; farther out, the file is wrong (a box drawn
// for another image size, or a swapped axis) and is refused with the record named.
import { ValidationError } from '../../../core/errors.js';
import type { Box } from '../types.js';

/** How far (pixels) a corner may lie outside the image and still be read as on its edge. */
export const BOX_TOLERANCE_PX = 0.5;

const fmt = (v: number) => Number(v.toFixed(3)).toString();

/** The box clipped to the image; ValidationError(`${where}: …`) when it lies outside beyond the tolerance or is empty. */
export function boxInsideImage<B extends Box>(box: B, width: number, height: number, where: string): B {
  const t = BOX_TOLERANCE_PX;
  const corners = [box.x0, box.y0, box.x1, box.y1];
  if (!corners.every(Number.isFinite)) throw new ValidationError(`${where}: the box's corners are not all numbers`);
  if (box.x0 < -t || box.y0 < -t || box.x1 > width + t || box.y1 > height + t)
    throw new ValidationError(`${where}: box [${corners.map(fmt).join(', ')}] lies outside the ${width}×${height} image`);
  const clipped = { ...box, x0: Math.max(0, box.x0), y0: Math.max(0, box.y0), x1: Math.min(width, box.x1), y1: Math.min(height, box.y1) };
  if (!(clipped.x1 > clipped.x0 && clipped.y1 > clipped.y0)) throw new ValidationError(`${where}: box [${corners.map(fmt).join(', ')}] has no area`);
  return clipped;
}
