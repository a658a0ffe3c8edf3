// Detector models in the registry: what a detector's metadata says (thresholds, output layout), how its
// outputs are checked when it is registered or imported, and how one run's outputs become each image's
// detections in INPUT pixels (the letterbox is undone by serving, which knows the original image).
//
// Two output layouts (docs/detection.md, "Serving"):
//   nms         selected [K, 3] int64 (image, class, anchor) from ONNX NonMaxSuppression in the graph, with
//               det_boxes [K, 4] and det_scores [K]: the engine's export. The reader only applies the
//               per-image cap over all classes (ONNX's NMS caps per class).
//   candidates  boxes [N, A, 4] and scores [N, A, classes] (probabilities): e.g. a PyTorch export without
//               torchvision's NMS. Per-class NMS runs here (selectDetections, ONNX Runtime's semantics).
// Boxes are x0, y0, x1, y1 in input pixels in both.
import type * as ort from 'onnxruntime-node';
import { z } from 'zod';

import { type Detection, DETECTION_DEFAULTS, DETECTION_METADATA_KEY, selectDetections } from '../models/detector-export.js';
import { InvalidModelError } from './errors.js';

export type { Detection } from '../models/detector-export.js';

const tensorName = z.string().min(1).max(256);

/** `detection` in a model's metadata (and in the meta file of `models import`). */
export const detectionMetaSchema = z
  .object({
    /** Candidates need a class score above this (default 0.25). */
    scoreThreshold: z.number().min(0).lt(1).default(DETECTION_DEFAULTS.scoreThreshold),
    /** A candidate overlapping a kept box of its class by more than this IoU is suppressed (default 0.7). */
    iouThreshold: z.number().min(0).max(1).default(DETECTION_DEFAULTS.iouThreshold),
    /** Boxes kept per image over all classes (default 300). */
    maxDetections: z.number().int().min(1).max(10_000).default(DETECTION_DEFAULTS.maxDetections),
    layout: z.enum(['nms', 'candidates']),
    outputs: z
      .object({ boxes: tensorName, scores: tensorName, selected: tensorName.optional(), detBoxes: tensorName.optional(), detScores: tensorName.optional() })
      .strict(),
    /** The only box format: corners in the model input's pixels. */
    boxFormat: z.literal('xyxy-pixels').default('xyxy-pixels'),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.layout === 'nms')
      for (const k of ['selected', 'detBoxes', 'detScores'] as const)
        if (d.outputs[k] === undefined) ctx.addIssue({ code: 'custom', path: ['outputs', k], message: "required by layout 'nms'" });
  });
export type DetectionMeta = z.infer<typeof detectionMetaSchema>;

/** The `detection` section of an engine-exported detector's metadata_props (models/detector-export.ts), or undefined. */
export function detectionFromExport(props: Record<string, string>): unknown {
  if (props['secondread.task'] !== 'detect') return undefined;
  const raw = props[DETECTION_METADATA_KEY];
  if (raw === undefined) throw new InvalidModelError(`a detector needs '${DETECTION_METADATA_KEY}' metadata (export it with detectionMetadata)`);
  let d: { scoreThreshold?: unknown; iouThreshold?: unknown; maxDetections?: unknown; outputs?: Record<string, unknown>; boxFormat?: unknown };
  try {
    d = JSON.parse(raw) as typeof d;
  } catch {
    throw new InvalidModelError(`model metadata '${DETECTION_METADATA_KEY}' is not valid JSON`);
  }
  const o = d.outputs ?? {};
  return {
    scoreThreshold: d.scoreThreshold,
    iouThreshold: d.iouThreshold,
    maxDetections: d.maxDetections,
    layout: 'nms',
    outputs: { boxes: o.boxes, scores: o.scores, selected: o.selected, detBoxes: o.detBoxes, detScores: o.detScores },
    boxFormat: d.boxFormat,
  };
}

/** Output names a detector's run fetches. */
export function detectionFetches(d: DetectionMeta): string[] {
  return d.layout === 'nms' ? [d.outputs.selected!, d.outputs.detBoxes!, d.outputs.detScores!] : [d.outputs.boxes, d.outputs.scores];
}

const dimsOf = (t: ort.Tensor): number[] => [...t.dims].map(Number);

function need(cond: boolean, message: string): void {
  if (!cond) throw new InvalidModelError(message);
}

/**
 * Each of the n images' detections (input pixels, class index, best first, at most maxDetections) from one run's
 * outputs. Shapes and indices are checked: a model that answers out of its declared layout is an InvalidModelError.
 */
export function readDetections(out: ort.InferenceSession.ReturnType, n: number, classes: number, d: DetectionMeta): Detection[][] {
  const t = { scoreThreshold: d.scoreThreshold, iouThreshold: d.iouThreshold, maxDetections: d.maxDetections };
  if (d.layout === 'candidates') {
    const boxes = out[d.outputs.boxes]!;
    const scores = out[d.outputs.scores]!;
    const [bd, sd] = [dimsOf(boxes), dimsOf(scores)];
    need(
      bd.length === 3 && bd[0] === n && bd[2] === 4 && sd.length === 3 && sd[0] === n && sd[1] === bd[1] && sd[2] === classes,
      `a detector's '${d.outputs.boxes}' must be [${n}, A, 4] and '${d.outputs.scores}' [${n}, A, ${classes}]; the model returned [${bd.join(', ')}] and [${sd.join(', ')}]`,
    );
    const a = bd[1]!;
    const [b, s] = [boxes.data as Float32Array, scores.data as Float32Array];
    return Array.from({ length: n }, (_, i) =>
      selectDetections(s.subarray(i * a * classes, (i + 1) * a * classes), b.subarray(i * a * 4, (i + 1) * a * 4), classes, t),
    );
  }
  const sel = out[d.outputs.selected!]!;
  const boxes = out[d.outputs.detBoxes!]!;
  const scores = out[d.outputs.detScores!]!;
  const k = dimsOf(sel)[0] ?? 0;
  need(
    dimsOf(sel).length === 2 && dimsOf(sel)[1] === 3 && dimsOf(boxes).join() === `${k},4` && dimsOf(scores).join() === `${k}`,
    `a detector's NMS outputs must be [K, 3], [K, 4] and [K]; the model returned [${dimsOf(sel).join(', ')}], [${dimsOf(boxes).join(', ')}] and [${dimsOf(scores).join(', ')}]`,
  );
  const [sv, bv, cv] = [sel.data as BigInt64Array | Int32Array, boxes.data as Float32Array, scores.data as Float32Array];
  const per: Detection[][] = Array.from({ length: n }, () => []);
  for (let j = 0; j < k; j++) {
    const [image, cls] = [Number(sv[3 * j]), Number(sv[3 * j + 1])];
    need(
      image >= 0 && image < n && cls >= 0 && cls < classes,
      `a detector's '${d.outputs.selected}' names image ${image}, class ${cls} (of ${n} images, ${classes} classes)`,
    );
    per[image]!.push({ classIndex: cls, score: cv[j]!, box: [bv[4 * j]!, bv[4 * j + 1]!, bv[4 * j + 2]!, bv[4 * j + 3]!] });
  }
  // Stable: equal scores keep the graph's order (class, then its NMS order).
  return per.map((dets) => dets.sort((x, y) => y.score - x.score).slice(0, d.maxDetections));
}

/** Every value finite, every score a probability in [0, 1]: a smoke run's answer must make sense. */
export function checkDetectionValues(perImage: Detection[][]): void {
  for (const dets of perImage)
    for (const x of dets) {
      need(x.box.every(Number.isFinite), 'the detector returned a non-finite box on a test input');
      need(x.score >= 0 && x.score <= 1, `the detector returned score ${x.score} on a test input: scores must be probabilities in [0, 1]`);
    }
}
