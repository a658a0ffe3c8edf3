// The detector as a served model: the inference graph decodes boxes and runs ONNX NonMaxSuppression per class inside
// the graph, so any ONNX runtime returns final detections; the TypeScript post-processing here does the same from the
// raw head output (the parity test holds the two together).
//
//   logits   [B, A, 4·regMax + nc]   the raw head (as in training)
//   boxes    [B, A, 4]               x0, y0, x1, y1 in input pixels (softmax-expected distances × stride)
//   scores   [B, A, nc]              sigmoid class probabilities
//   selected [K, 3]                  (image, class, anchor) kept by per-class NMS: score > scoreThreshold, IoU > iouThreshold
//                                    suppressed, at most maxDetections per image and class, best first
//   det_boxes [K, 4], det_scores [K] the selected boxes and scores
//
// The thresholds are baked into the graph and repeated in the metadata (`secondread.detection`), with the per-image
// cap (maxDetections over all classes, applied by the reader: ONNX's NMS caps per class).
import { EngineError, type Graph, type ModelBuilder, ops, type TensorRef } from '../engine/index.js';
import { anchorPoints, detector, type DetectorConfig, detectorGrid, validateDetector } from './detector.js';
import { decodeImage } from './detector-decode.js';
import { distances, distancesToBoxes } from './detector-loss.js';

export interface DetectionThresholds {
  /** Candidates need a class score above this. */
  scoreThreshold: number;
  /** A candidate overlapping a kept box of its class by more than this IoU is suppressed. */
  iouThreshold: number;
  /** Kept boxes per image (per class in the graph's NMS; over all classes in postprocess and the reader). */
  maxDetections: number;
}

/** Ultralytics' predict defaults (conf 0.25, iou 0.7, max_det 300). */
export const DETECTION_DEFAULTS: DetectionThresholds = { scoreThreshold: 0.25, iouThreshold: 0.7, maxDetections: 300 };

export const DETECTION_METADATA_KEY = 'secondread.detection';

/** Output names of the exported detector. */
export const DETECTION_OUTPUTS = { boxes: 'boxes', scores: 'scores', selected: 'selected', detBoxes: 'det_boxes', detScores: 'det_scores' } as const;

export function validateThresholds(t: DetectionThresholds): void {
  if (!(t.scoreThreshold >= 0 && t.scoreThreshold < 1)) throw new EngineError('invalid_argument', `scoreThreshold must be in [0, 1), got ${t.scoreThreshold}`);
  if (!(t.iouThreshold >= 0 && t.iouThreshold <= 1)) throw new EngineError('invalid_argument', `iouThreshold must be in [0, 1], got ${t.iouThreshold}`);
  if (!Number.isInteger(t.maxDetections) || t.maxDetections < 1)
    throw new EngineError('invalid_argument', `maxDetections must be a positive integer, got ${t.maxDetections}`);
}

/** Boxes in pixels and class probabilities from the head, in the graph. */
function decodeInGraph(g: Graph, boxLogits: TensorRef, classLogits: TensorRef, cfg: DetectorConfig): { boxes: TensorRef; scores: TensorRef } {
  const { strides } = anchorPoints(cfg);
  const stride = g.constant(Array.from(strides), [strides.length, 1], boxLogits.dtype);
  const boxes = ops.mul(g, distancesToBoxes(g, distances(g, boxLogits, cfg.regMax).ltrb, cfg), stride);
  return { boxes, scores: ops.sigmoid(g, classLogits) };
}

/** The inference model: images [batch, C, S, S] → the outputs of the header (eval mode only). */
export function detectorInference(cfg: DetectorConfig, thresholds: DetectionThresholds = DETECTION_DEFAULTS, input = 'images'): ModelBuilder {
  validateDetector(cfg);
  validateThresholds(thresholds);
  return (g: Graph) => {
    if (g.mode !== 'eval') throw new EngineError('invalid_argument', 'detectorInference builds the eval graph only (train with detectorModel)');
    const images = g.input(input, 'float32', ['batch', cfg.inChannels, cfg.imageSize, cfg.imageSize]);
    const head = detector(g, images, cfg);
    const logits = ops.concat(g, [head.boxLogits, head.classLogits], 2);
    const { boxes, scores } = decodeInGraph(g, head.boxLogits, head.classLogits, cfg);
    // ONNX's box layout [y1, x1, y2, x2] with corners in either order: IoU is symmetric in x and y, so x0 y0 x1 y1 works.
    const selected = g.op('NonMaxSuppression', [
      boxes,
      ops.transpose(g, scores, [0, 2, 1]),
      g.constant([thresholds.maxDetections], [1], 'int64'),
      g.constant([thresholds.iouThreshold], [1], 'float32'),
      g.constant([thresholds.scoreThreshold], [1], 'float32'),
    ]);
    const [image, cls, anchor] = ops.split(g, selected, [1, 1, 1], 1) as [TensorRef, TensorRef, TensorRef];
    const detBoxes = g.op('GatherND', [boxes, ops.concat(g, [image, anchor], 1)]);
    const detScores = g.op('GatherND', [scores, ops.concat(g, [image, anchor, cls], 1)]);
    return {
      logits,
      outputs: {
        [DETECTION_OUTPUTS.boxes]: boxes,
        [DETECTION_OUTPUTS.scores]: scores,
        [DETECTION_OUTPUTS.selected]: selected,
        [DETECTION_OUTPUTS.detBoxes]: detBoxes,
        [DETECTION_OUTPUTS.detScores]: detScores,
      },
    };
  };
}

/** metadata_props of an exported detector: task, thresholds, output names, anchor count. */
export function detectionMetadata(cfg: DetectorConfig, thresholds: DetectionThresholds): Record<string, string> {
  return {
    'secondread.task': 'detect',
    [DETECTION_METADATA_KEY]: JSON.stringify({ ...thresholds, outputs: DETECTION_OUTPUTS, anchors: detectorGrid(cfg).anchors, boxFormat: 'xyxy-pixels' }),
  };
}

export interface Detection {
  classIndex: number;
  score: number;
  /** x0, y0, x1, y1 in input pixels. */
  box: [number, number, number, number];
}

/** IoU as ONNX Runtime's NonMaxSuppression computes it (corners in any order; empty boxes overlap nothing). */
function nmsIou(b: ArrayLike<number>, i: number, j: number): number {
  const lo = (a: number, c: number): number => Math.min(a, c);
  const hi = (a: number, c: number): number => Math.max(a, c);
  const [ix0, iy0, ix1, iy1] = [lo(b[4 * i]!, b[4 * i + 2]!), lo(b[4 * i + 1]!, b[4 * i + 3]!), hi(b[4 * i]!, b[4 * i + 2]!), hi(b[4 * i + 1]!, b[4 * i + 3]!)];
  const [jx0, jy0, jx1, jy1] = [lo(b[4 * j]!, b[4 * j + 2]!), lo(b[4 * j + 1]!, b[4 * j + 3]!), hi(b[4 * j]!, b[4 * j + 2]!), hi(b[4 * j + 1]!, b[4 * j + 3]!)];
  const areaI = (ix1 - ix0) * (iy1 - iy0);
  const areaJ = (jx1 - jx0) * (jy1 - jy0);
  if (areaI <= 0 || areaJ <= 0) return 0;
  const w = Math.min(ix1, jx1) - Math.max(ix0, jx0);
  const h = Math.min(iy1, jy1) - Math.max(iy0, jy0);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (areaI + areaJ - inter);
}

/**
 * Detections of image `i` from the raw head output, as the exported graph selects them (per-class NMS), then the
 * per-image cap: the maxDetections best over all classes, best first.
 */
export function postprocess(logits: ArrayLike<number>, i: number, cfg: DetectorConfig, t: DetectionThresholds = DETECTION_DEFAULTS): Detection[] {
  const { scores, boxes } = decodeImage(logits, i, cfg);
  return selectDetections(scores, boxes, cfg.numClasses, t);
}

/**
 * One image's candidates — scores [A, nc] and boxes [A, 4] (x0 y0 x1 y1) — through per-class NMS with ONNX Runtime's
 * semantics (score > threshold; suppressed when IoU > threshold), then the per-image cap over all classes, best first.
 */
export function selectDetections(scores: ArrayLike<number>, boxes: ArrayLike<number>, nc: number, t: DetectionThresholds = DETECTION_DEFAULTS): Detection[] {
  validateThresholds(t);
  const A = scores.length / nc;
  if (!Number.isInteger(A) || boxes.length !== 4 * A)
    throw new EngineError('shape_mismatch', `scores [${scores.length}] and boxes [${boxes.length}] do not hold the same anchors for ${nc} classes`);
  const out: Detection[] = [];
  for (let c = 0; c < nc; c++) {
    const candidates: number[] = [];
    for (let a = 0; a < A; a++) if (scores[a * nc + c]! > t.scoreThreshold) candidates.push(a);
    candidates.sort((x, y) => scores[y * nc + c]! - scores[x * nc + c]! || x - y);
    const kept: number[] = [];
    for (const a of candidates) {
      if (kept.length >= t.maxDetections) break;
      if (kept.every((k) => nmsIou(boxes, k, a) <= t.iouThreshold)) kept.push(a);
    }
    for (const a of kept)
      out.push({ classIndex: c, score: scores[a * nc + c]!, box: [boxes[4 * a]!, boxes[4 * a + 1]!, boxes[4 * a + 2]!, boxes[4 * a + 3]!] });
  }
  out.sort((x, y) => y.score - x.score);
  return out.slice(0, t.maxDetections);
}
