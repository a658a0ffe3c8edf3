// The detector inside the one training loop (loop.ts): a step is DetectionStepper's (forward, the task-aligned
// assigner, loss, backward and update as one session run of the training graph); validation runs
// the eval graph on val, keeps each image's detections as the exported model would select them (per-class NMS,
// postprocess) at evaluation thresholds, and scores them (metrics/detection.ts). The monitored figure is VOC
// mAP@0.5, higher is better. Boxes are compared in model-input pixels: the letterbox is a per-axis scaling and
// shift of the original image, which leaves every IoU, and so every figure, unchanged.
import { DETECTION_CLASSES, type ImagePredictions } from '../data/detection/types.js';
import type { EvalSession, TrainSession } from '../engine/index.js';
import type { DetectorConfig } from '../models/detector.js';
import { type DetectionThresholds, postprocess } from '../models/detector-export.js';
import type { Normalization } from './data/augment.js';
import { type ImageSet, prepareBatch, type PreparedBatch } from './data/batch.js';
import { DetectionStepper } from './detect-step.js';
import { truthOf } from './detection-data.js';
import type { LoopTask, Validation } from './loop.js';
import { type DetectionReport, detectionReport } from './metrics/detection.js';

/**
 * What evaluation keeps of the head's output: a low score threshold (the whole precision–recall curve, as
 * Ultralytics' val with conf 0.001), NMS at IoU 0.6, at most 100 boxes per image (COCO's maxDets).
 */
export const EVAL_THRESHOLDS: DetectionThresholds = { scoreThreshold: 0.001, iouThreshold: 0.6, maxDetections: 100 };

/** The images' truth boxes as the assigner takes them. */
export function batchTruths(prepared: PreparedBatch): { boxes: Float32Array; labels: Uint8Array }[] {
  const b = prepared.boxes;
  if (!b) throw new Error('a detection batch carries boxes');
  const out: { boxes: Float32Array; labels: Uint8Array }[] = [];
  let at = 0;
  for (const n of b.counts) {
    out.push({ boxes: b.coords.subarray(4 * at, 4 * (at + n)), labels: b.classes.subarray(at, at + n) });
    at += n;
  }
  return out;
}

/** The detections of every image of `set` (ids = row numbers), in input pixels. */
export async function predictDetections(
  session: EvalSession,
  set: ImageSet,
  norm: Normalization,
  cfg: DetectorConfig,
  batchSize: number,
  thresholds: DetectionThresholds = EVAL_THRESHOLDS,
): Promise<ImagePredictions[]> {
  const out: ImagePredictions[] = [];
  const S = cfg.imageSize;
  for (let start = 0; start < set.count; start += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, set.count - start) }, (_, k) => start + k);
    const batch = prepareBatch({ ...set, boxes: undefined }, { rows, augment: null, norm, seed: 0, epoch: 0, position: 0 });
    const { logits } = await session.run({ images: { data: batch.images, shape: [rows.length, cfg.inChannels, S, S] } });
    rows.forEach((row, k) => {
      const boxes = postprocess(logits, k, cfg, thresholds).map((d) => ({
        classId: d.classIndex,
        score: d.score,
        x0: d.box[0],
        y0: d.box[1],
        x1: d.box[2],
        y1: d.box[3],
      }));
      out.push({ imageId: String(row), boxes });
    });
  }
  return out;
}

/** Every detection figure of the model in `session` on `set`. */
export async function evaluateDetections(
  session: EvalSession,
  set: ImageSet,
  norm: Normalization,
  cfg: DetectorConfig,
  batchSize: number,
): Promise<DetectionReport> {
  const predictions = await predictDetections(session, set, norm, cfg, batchSize);
  return detectionReport(truthOf(set), predictions, DETECTION_CLASSES);
}

export function detectLoopTask(session: TrainSession, evalSession: EvalSession, norm: Normalization, cfg: DetectorConfig): LoopTask {
  const stepper = new DetectionStepper(session, cfg);
  return {
    accuracy: false,
    monitor: 'max',
    step: (prepared) => stepper.step({ images: prepared.images, truths: batchTruths(prepared) }),
    correct: () => 0,
    async validate(set: ImageSet, batchSize: number): Promise<Validation> {
      const r = await evaluateDetections(evalSession, set, norm, cfg, batchSize);
      return {
        monitored: r.map50 ?? 0,
        record: { valLoss: null, valAccuracy: null, valMacroF1: null, valMap50: r.map50 },
        figures: { map50: r.map50, map40: r.map40, map_coco: r.mapCoco, froc_mean: r.froc.mean },
        info: { 'val mAP@0.5': r.map50 ?? 0, 'val mAP@0.4': r.map40 ?? 0 },
      };
    },
  };
}
