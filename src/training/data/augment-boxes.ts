// Box-aware augmentation for the detector: the pixels go through the classifier's one affine resample (augmentInto:
// scale/translate as a crop, optional horizontal flip, brightness/contrast), and the boxes through the same map, so
// a finding's box follows its pixels exactly. Rotation is left out for boxes (a rotated box's axis-aligned hull is
// looser than the finding; YOLOv8's default is no rotation either): drawBoxAugment pins the angle to 0.
//
// With crop (w, h) centred at (cx, cy) in an image of side S, a source point (X, Y) lands at
//   U = S/2 + (X − cx)·S/w   (flipped: S/2 − (X − cx)·S/w),   V = S/2 + (Y − cy)·S/h
// (continuous pixel coordinates: pixel i covers [i, i + 1)). Boxes are clipped to the image and dropped when less
// than 2 px wide or high, or when under 10 % of their area stays visible (Ultralytics' box_candidates).
import type { Rng } from '../../core/rng.js';
import { type AugmentConfig, type AugmentParams, drawAugment } from './augment.js';

/** The random draw for one detection image: the classifier's draw without rotation. */
export function drawBoxAugment(rng: Rng, size: number, cfg: AugmentConfig): AugmentParams {
  return drawAugment(rng, size, { ...cfg, rotateDegrees: 0 });
}

export interface AugmentedBoxes {
  /** [K, 4] x0, y0, x1, y1 in output pixels. */
  boxes: Float32Array;
  /** Index into the input boxes of each kept box. */
  kept: number[];
}

const MIN_SIDE = 2;
const MIN_VISIBLE = 0.1;

/** Maps boxes [M, 4] (x0, y0, x1, y1, source pixels) through the augmentation `p` of an image of side `size`. */
export function augmentBoxes(boxes: ArrayLike<number>, size: number, p: AugmentParams): AugmentedBoxes {
  if (p.angle !== 0) throw new RangeError('augmentBoxes: rotated augmentations do not keep boxes tight (draw with drawBoxAugment)');
  const half = size / 2;
  const [kx, ky] = [size / p.cropW, size / p.cropH];
  const u = (x: number): number => (p.flip ? half - (x - p.cx) * kx : half + (x - p.cx) * kx);
  const v = (y: number): number => half + (y - p.cy) * ky;
  const out: number[] = [];
  const kept: number[] = [];
  for (let m = 0; m < boxes.length / 4; m++) {
    const [ua, ub] = [u(boxes[4 * m]!), u(boxes[4 * m + 2]!)];
    const [x0, x1, y0, y1] = [Math.min(ua, ub), Math.max(ua, ub), v(boxes[4 * m + 1]!), v(boxes[4 * m + 3]!)];
    const clip = (t: number): number => Math.min(Math.max(t, 0), size);
    const [cx0, cy0, cx1, cy1] = [clip(x0), clip(y0), clip(x1), clip(y1)];
    const visible = (cx1 - cx0) * (cy1 - cy0);
    if (cx1 - cx0 < MIN_SIDE || cy1 - cy0 < MIN_SIDE || visible < MIN_VISIBLE * (x1 - x0) * (y1 - y0)) continue;
    out.push(cx0, cy0, cx1, cy1);
    kept.push(m);
  }
  return { boxes: Float32Array.from(out), kept };
}
