// The saliency picture: a [0, 1] heatmap in the model's letterboxed square, colour-mapped (blue → red)
// and alpha-blended over the grayscale image at its own aspect ratio, as a PNG.
import sharp from 'sharp';

import { decodeOrThrow, imagePipeline } from '../../data/images/decode.js';

/** Blue → cyan → yellow → red: the ramp radiology viewers use for heatmaps. */
const RAMP: readonly [number, [number, number, number]][] = [
  [0, [0, 0, 255]],
  [0.35, [0, 255, 255]],
  [0.65, [255, 255, 0]],
  [1, [255, 0, 0]],
];

function rampColour(t: number): [number, number, number] {
  for (let k = 1; k < RAMP.length; k++) {
    const [t1, c1] = RAMP[k]!;
    if (t <= t1 || k === RAMP.length - 1) {
      const [t0, c0] = RAMP[k - 1]!;
      const f = Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
      return [0, 1, 2].map((i) => Math.round(c0[i]! + f * (c1[i]! - c0[i]!))) as [number, number, number];
    }
  }
  return RAMP[RAMP.length - 1]![1];
}

/** Heat below this stays see-through, so the anatomy under weak evidence is not tinted. */
const ALPHA_FLOOR = 0.15;
const MAX_ALPHA = 0.6;

/**
 * The image (grayscale, longest side ≤ maxSize) with the heatmap blended over it. The map is in the
 * letterboxed square the model saw; each image pixel samples it (bilinear) where the letterbox put it.
 */
export async function renderOverlay(
  image: Uint8Array,
  heat: Float32Array,
  heatSize: number,
  o: { maxSize?: number } = {},
): Promise<{ png: Buffer; width: number; height: number }> {
  const maxSize = o.maxSize ?? 512;
  const pipeline = await imagePipeline(image); // DICOM: its 8-bit rendering with its own window
  const { data, info } = await decodeOrThrow(() =>
    pipeline.greyscale().resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true }).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true }),
  );
  const { width, height } = info;
  const side = Math.max(width, height);
  const offX = (side - width) / 2;
  const offY = (side - height) / 2;
  const sample = (u: number, v: number): number => {
    const x = Math.min(heatSize - 1, Math.max(0, u));
    const y = Math.min(heatSize - 1, Math.max(0, v));
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const x1 = Math.min(heatSize - 1, x0 + 1);
    const y1 = Math.min(heatSize - 1, y0 + 1);
    const fx = x - x0;
    const fy = y - y0;
    const at = (xx: number, yy: number) => heat[yy * heatSize + xx]!;
    return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
  };
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const h = sample(((x + offX + 0.5) / side) * heatSize - 0.5, ((y + offY + 0.5) / side) * heatSize - 0.5);
      const alpha = MAX_ALPHA * Math.min(1, Math.max(0, (h - ALPHA_FLOOR) / (1 - ALPHA_FLOOR)));
      const gray = data[y * width + x]!;
      const colour = rampColour(h);
      for (let c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = Math.round((1 - alpha) * gray + alpha * colour[c]!);
    }
  }
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return { png, width, height };
}
