// Detection metrics, each under the protocol it is published with (docs/detection.md, "Metrics"):
//
//   VOC AP@t (mAP@0.4 = the VinBigData Kaggle protocol, mAP@0.5)  PASCAL VOC 2010+: per class, all
//     predictions sorted by score (descending, stable); each is matched to the image's truth box of its
//     class with the highest IoU; a true positive when that IoU > t and the box was not matched before,
//     else a false positive (a duplicate). AP = area under the precision envelope over every recall point.
//   COCO AP@[.5:.95]  pycocotools: per image, predictions by score (at most maxDets = 100) are matched
//     to the best-IoU truth box still unmatched with IoU ≥ t; per class and t, precision is made
//     monotone and read at 101 recall points 0, 0.01, …, 1 (0 beyond the last recall); AP is their
//     mean, then the mean over t = 0.50, 0.55, …, 0.95.
//   FROC  lesion sensitivity against false positives per image, all classes pooled (VOC matching at
//     `frocIou`): the sensitivity reached with at most 0.5, 1, 2, 4 false positives per image.
//
// Boxes are continuous pixel corners (IoU without the old "+1" pixel convention, as pycocotools).
// A class without truth boxes has no AP (null) and is left out of every mean, as in both toolkits.
import { type Box, DETECTION_CLASS_COUNT, type ImageBoxes, type ImagePredictions, iou, type ScoredBox } from '../../data/detection/types.js';

/** numpy.linspace(start, stop, n) to the last bit (i·step + start, the end exact): pycocotools' thresholds. */
function linspace(start: number, stop: number, n: number): number[] {
  const step = (stop - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : i * step + start));
}

// pycocotools' own grids: a recall of exactly 0.07 lies BELOW its threshold 7 × 0.01 = 0.07000000000000001.
export const COCO_IOUS = linspace(0.5, 0.95, 10);
export const COCO_RECALLS = linspace(0, 1, 101);
export const COCO_MAX_DETS = 100;
export const FROC_FPS = [0.5, 1, 2, 4] as const;

export interface PrPoint {
  recall: number;
  precision: number;
  score: number;
}

interface Ranked {
  score: number;
  tp: boolean;
}

/** Predictions of one class in global descending-score order (stable: image order, then the image's own order). */
function rankedVoc(truth: readonly ImageBoxes[], preds: ReadonlyMap<string, readonly ScoredBox[]>, classId: number, t: number): Ranked[] {
  const all: { image: number; box: ScoredBox }[] = [];
  truth.forEach((img, i) => {
    for (const b of preds.get(img.imageId) ?? []) if (b.classId === classId) all.push({ image: i, box: b });
  });
  all.sort((a, b) => b.box.score - a.box.score);
  const used = truth.map((img) => img.boxes.map(() => false));
  return all.map(({ image, box }) => {
    const gts = truth[image]!.boxes;
    let best = -1;
    let bestIou = -Infinity;
    gts.forEach((g, j) => {
      if (g.classId !== classId) return;
      const v = iou(box, g);
      if (v > bestIou) [best, bestIou] = [j, v];
    });
    const tp = best >= 0 && bestIou > t && !used[image]![best];
    if (tp) used[image]![best] = true;
    return { score: box.score, tp };
  });
}

function countTruth(truth: readonly ImageBoxes[], classId: number): number {
  return truth.reduce((n, img) => n + img.boxes.filter((b) => b.classId === classId).length, 0);
}

function prCurve(ranked: readonly Ranked[], positives: number): PrPoint[] {
  let tp = 0;
  return ranked.map((r, i) => {
    if (r.tp) tp += 1;
    return { recall: tp / positives, precision: tp / (i + 1), score: r.score };
  });
}

/** VOC 2010+ all-point AP from a PR curve. */
function vocAp(curve: readonly PrPoint[]): number {
  const mrec = [0, ...curve.map((p) => p.recall), 1];
  const mpre = [0, ...curve.map((p) => p.precision), 0];
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i]!, mpre[i + 1]!);
  let ap = 0;
  for (let i = 1; i < mrec.length; i++) if (mrec[i] !== mrec[i - 1]) ap += (mrec[i]! - mrec[i - 1]!) * mpre[i]!;
  return ap;
}

function byImage(predictions: readonly ImagePredictions[]): Map<string, ScoredBox[]> {
  return new Map(predictions.map((p) => [p.imageId, p.boxes]));
}

/** VOC AP of one class at IoU > t, with its PR curve; null AP when the class has no truth boxes. */
export function vocClassAp(
  truth: readonly ImageBoxes[],
  predictions: readonly ImagePredictions[],
  classId: number,
  t: number,
): { ap: number | null; curve: PrPoint[] } {
  const positives = countTruth(truth, classId);
  if (positives === 0) return { ap: null, curve: [] };
  const curve = prCurve(rankedVoc(truth, byImage(predictions), classId, t), positives);
  return { ap: vocAp(curve), curve };
}

/** COCO (pycocotools) AP of one class at IoU ≥ t; null when the class has no truth boxes. */
export function cocoClassAp(
  truth: readonly ImageBoxes[],
  predictions: readonly ImagePredictions[],
  classId: number,
  t: number,
  maxDets = COCO_MAX_DETS,
): number | null {
  const positives = countTruth(truth, classId);
  if (positives === 0) return null;
  const preds = byImage(predictions);
  const ranked: Ranked[] = [];
  for (const img of truth) {
    const gts = img.boxes.filter((b) => b.classId === classId);
    const dts = (preds.get(img.imageId) ?? []).filter((b) => b.classId === classId);
    const order = dts.map((_, i) => i).sort((a, b) => dts[b]!.score - dts[a]!.score || a - b);
    const matched = gts.map(() => false);
    for (const di of order.slice(0, maxDets)) {
      const d = dts[di]!;
      let m = -1;
      let best = Math.min(t, 1 - 1e-10);
      gts.forEach((g, gi) => {
        if (matched[gi]) return;
        const v = iou(d, g);
        if (v < best) return;
        [best, m] = [v, gi];
      });
      if (m >= 0) matched[m] = true;
      ranked.push({ score: d.score, tp: m >= 0 });
    }
  }
  ranked.sort((a, b) => b.score - a.score); // stable: image order breaks ties, as pycocotools' mergesort
  const curve = prCurve(ranked, positives);
  const pr = curve.map((p) => p.precision);
  for (let i = pr.length - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
  let sum = 0;
  let k = 0;
  for (const r of COCO_RECALLS) {
    while (k < curve.length && curve[k]!.recall < r) k += 1; // np.searchsorted(rc, r, side='left')
    sum += k < curve.length ? pr[k]! : 0;
  }
  return sum / COCO_RECALLS.length;
}

export interface FrocResult {
  iou: number;
  /** Sensitivity at each of FROC_FPS false positives per image. */
  sensitivity: { fpPerImage: number; sensitivity: number }[];
  /** Their mean (the "competition performance metric" of FROC challenges). */
  mean: number;
  /** The whole curve: one point per score cut-off. */
  curve: { fpPerImage: number; sensitivity: number; score: number }[];
}

export function froc(truth: readonly ImageBoxes[], predictions: readonly ImagePredictions[], t: number, classes: number = DETECTION_CLASS_COUNT): FrocResult {
  const preds = byImage(predictions);
  const ranked: Ranked[] = [];
  for (let c = 0; c < classes; c++) ranked.push(...rankedVoc(truth, preds, c, t));
  ranked.sort((a, b) => b.score - a.score);
  const positives = truth.reduce((n, img) => n + img.boxes.length, 0);
  const images = Math.max(1, truth.length);
  let tp = 0;
  let fp = 0;
  const curve: FrocResult['curve'] = [];
  for (const r of ranked) {
    if (r.tp) tp += 1;
    else fp += 1;
    curve.push({ fpPerImage: fp / images, sensitivity: positives ? tp / positives : 0, score: r.score });
  }
  const sensitivity = FROC_FPS.map((f) => ({
    fpPerImage: f,
    sensitivity: curve.filter((p) => p.fpPerImage <= f).reduce((m, p) => Math.max(m, p.sensitivity), 0),
  }));
  return { iou: t, sensitivity, mean: sensitivity.reduce((s, x) => s + x.sensitivity, 0) / sensitivity.length, curve };
}

export interface DetectionClassReport {
  classId: number;
  class: string;
  truthBoxes: number;
  predictedBoxes: number;
  ap40: number | null;
  ap50: number | null;
  apCoco: number | null;
}

export interface DetectionReport {
  images: number;
  truthBoxes: number;
  predictedBoxes: number;
  /** VOC all-point mAP at IoU > 0.4 (VinBigData) and > 0.5. */
  map40: number | null;
  map50: number | null;
  /** COCO mAP@[.5:.95] (pycocotools, 101 recall points) and its AP at 0.5. */
  mapCoco: number | null;
  mapCoco50: number | null;
  perClass: DetectionClassReport[];
  froc: FrocResult;
  /** VOC PR curves at IoU > 0.4, per class with truth boxes. */
  curves: { classId: number; class: string; points: PrPoint[] }[];
}

function mean(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** Every figure of a detector on one evaluation set. `classes` names the class ids (DETECTION_CLASSES). */
export function detectionReport(
  truth: readonly ImageBoxes[],
  predictions: readonly ImagePredictions[],
  classes: readonly string[],
  frocIou = 0.4,
): DetectionReport {
  const perClass: DetectionClassReport[] = [];
  const curves: DetectionReport['curves'] = [];
  const coco50: (number | null)[] = [];
  for (let c = 0; c < classes.length; c++) {
    const at40 = vocClassAp(truth, predictions, c, 0.4);
    const ap50 = vocClassAp(truth, predictions, c, 0.5).ap;
    const cocoByIou = COCO_IOUS.map((t) => cocoClassAp(truth, predictions, c, t));
    coco50.push(cocoByIou[0]!);
    perClass.push({
      classId: c,
      class: classes[c]!,
      truthBoxes: countTruth(truth, c),
      predictedBoxes: predictions.reduce((n, p) => n + p.boxes.filter((b) => b.classId === c).length, 0),
      ap40: at40.ap,
      ap50,
      apCoco: mean(cocoByIou),
    });
    if (at40.ap !== null) curves.push({ classId: c, class: classes[c]!, points: at40.curve });
  }
  return {
    images: truth.length,
    truthBoxes: truth.reduce((n, i) => n + i.boxes.length, 0),
    predictedBoxes: predictions.reduce((n, p) => n + p.boxes.length, 0),
    map40: mean(perClass.map((c) => c.ap40)),
    map50: mean(perClass.map((c) => c.ap50)),
    mapCoco: mean(perClass.map((c) => c.apCoco)),
    mapCoco50: mean(coco50),
    perClass,
    froc: froc(truth, predictions, frocIou, classes.length),
    curves,
  };
}

/** For callers holding plain boxes: predictions with every box at score 1 (a reader's boxes scored as a detector). */
export function asPredictions(images: readonly { imageId: string; boxes: readonly Box[] }[]): ImagePredictions[] {
  return images.map((i) => ({ imageId: i.imageId, boxes: i.boxes.map((b) => ({ ...b, score: 1 })) }));
}
