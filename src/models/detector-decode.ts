// The detector's head output read on the host: class probabilities and boxes in input pixels per anchor. The
// task-aligned assigner reads the predictions this way during training, and the TypeScript post-processing
// (scores, boxes, per-class NMS) reads them this way at inference — one decoder for both.
import { anchorPoints, type DetectorConfig, detectorGrid } from './detector.js';

/** Per-image predictions: scores [A, nc] (sigmoid probabilities), boxes [A, 4] (x0, y0, x1, y1 in input pixels). */
export interface DecodedPredictions {
  scores: Float32Array;
  boxes: Float32Array;
}

/** The anchors of a config in pixels: centres [A, 2] and strides [A] (cached per config shape). */
export interface PixelAnchors {
  points: Float64Array;
  strides: Float64Array;
  count: number;
}

const anchorCache = new Map<string, PixelAnchors>();

export function pixelAnchors(cfg: DetectorConfig): PixelAnchors {
  const key = `${cfg.imageSize}`;
  let a = anchorCache.get(key);
  if (!a) {
    const { points, strides } = anchorPoints(cfg);
    a = { points: points.map((p, i) => p * (strides[i >> 1] as number)), strides, count: strides.length };
    anchorCache.set(key, a);
  }
  return a;
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/**
 * Decodes image `i` of a logits batch [B, A, 4·regMax + nc] (detectorModel's output): each side's distance is the
 * softmax expectation over its bins, times the anchor's stride, around the anchor centre.
 */
export function decodeImage(logits: ArrayLike<number>, i: number, cfg: DetectorConfig): DecodedPredictions {
  const { anchors } = detectorGrid(cfg);
  const R = cfg.regMax;
  const nc = cfg.numClasses;
  const width = 4 * R + nc;
  const base = i * anchors * width;
  const { points, strides } = pixelAnchors(cfg);
  const scores = new Float32Array(anchors * nc);
  const boxes = new Float32Array(anchors * 4);
  const side = new Float64Array(4);
  for (let a = 0; a < anchors; a++) {
    const row = base + a * width;
    for (let s = 0; s < 4; s++) {
      let max = -Infinity;
      for (let k = 0; k < R; k++) max = Math.max(max, logits[row + s * R + k] as number);
      let z = 0;
      let e = 0;
      for (let k = 0; k < R; k++) {
        const p = Math.exp((logits[row + s * R + k] as number) - max);
        z += p;
        e += k * p;
      }
      side[s] = (e / z) * (strides[a] as number);
    }
    const [x, y] = [points[2 * a] as number, points[2 * a + 1] as number];
    boxes[4 * a] = x - (side[0] as number);
    boxes[4 * a + 1] = y - (side[1] as number);
    boxes[4 * a + 2] = x + (side[2] as number);
    boxes[4 * a + 3] = y + (side[3] as number);
    for (let c = 0; c < nc; c++) scores[a * nc + c] = sigmoid(logits[row + 4 * R + c] as number);
  }
  return { scores, boxes };
}
