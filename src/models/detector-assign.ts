// Task-aligned assignment (TOOD, Feng et al. 2021; YOLOv8's TaskAlignedAssigner), run per image on the host between
// the forward pass that predicts and the training step that learns. For every ground-truth object g and anchor a:
//
//   candidate  a's centre lies strictly inside g's box
//   overlap    o(g, a) = max(CIoU(g, predicted box of a), 0)
//   alignment  t(g, a) = s(a, class of g)^α · o(g, a)^β            (α = 0.5, β = 6)
//   positives  the top-k anchors of g by t (k = 10), kept where they are candidates
//   conflicts  an anchor positive for several objects keeps the one with the largest overlap
//   targets    the class of its object with score t(g, a) · max_a' o(g, a') / max_a' t(g, a')  (per object, over its
//              positives), the object's box, fg = 1; every other anchor: scores 0, fg 0
//
// The arithmetic follows Ultralytics' implementation step by step (including its epsilons), except that ties of the
// top-k are broken towards the lower anchor index (torch.topk leaves them unspecified).
import { type DetectorConfig, detectorGrid } from './detector.js';
import { type DecodedPredictions, pixelAnchors } from './detector-decode.js';

export interface AssignerOptions {
  topk: number;
  alpha: number;
  beta: number;
}

export const TAL_DEFAULTS: AssignerOptions = { topk: 10, alpha: 0.5, beta: 6 };

/** Ground truth of one image: boxes [M, 4] (x0, y0, x1, y1 in input pixels) and class indices [M]. */
export interface GroundTruth {
  boxes: ArrayLike<number>;
  labels: ArrayLike<number>;
}

/** Targets of one image, in the layout of detectorModel's train inputs. */
export interface ImageTargets {
  /** [A, nc] */
  scores: Float32Array;
  /** [A, 4]: x0, y0, x1, y1 in grid units of the anchor's level; background anchors get their own cell. */
  boxes: Float32Array;
  /** [A]: 1 for foreground anchors. */
  fg: Float32Array;
  /** [A]: index of the assigned object, −1 for background. */
  object: Int32Array;
}

const EPS = 1e-9;

/** Refuses ground truth whose box and label counts differ or whose labels are not class indices of [0, nc). */
export function checkTruth(gt: GroundTruth, nc: number): void {
  const M = gt.labels.length;
  if (gt.boxes.length !== 4 * M) throw new RangeError(`ground truth has ${M} labels but ${gt.boxes.length / 4} boxes`);
  for (let m = 0; m < M; m++) {
    const label = gt.labels[m] as number;
    if (!(Number.isInteger(label) && label >= 0 && label < nc)) throw new RangeError(`ground-truth label ${label} is not a class index in [0, ${nc})`);
  }
}

const CIOU_EPS = 1e-7;

/** CIoU of two boxes (x0, y0, x1, y1), with Ultralytics' bbox_iou epsilons (the graph's completeIou, on the host). */
export function ciou(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number): number {
  const [ax0, ay0, ax1, ay1] = [a[ai]!, a[ai + 1]!, a[ai + 2]!, a[ai + 3]!];
  const [bx0, by0, bx1, by1] = [b[bi]!, b[bi + 1]!, b[bi + 2]!, b[bi + 3]!];
  const [aw, ah] = [ax1 - ax0, ay1 - ay0 + CIOU_EPS];
  const [bw, bh] = [bx1 - bx0, by1 - by0 + CIOU_EPS];
  const inter = Math.max(Math.min(ax1, bx1) - Math.max(ax0, bx0), 0) * Math.max(Math.min(ay1, by1) - Math.max(ay0, by0), 0);
  const iou = inter / (aw * ah + bw * bh - inter + CIOU_EPS);
  const c2 = (Math.max(ax1, bx1) - Math.min(ax0, bx0)) ** 2 + (Math.max(ay1, by1) - Math.min(ay0, by0)) ** 2 + CIOU_EPS;
  const rho2 = ((bx0 + bx1 - ax0 - ax1) ** 2 + (by0 + by1 - ay0 - ay1) ** 2) / 4;
  const v = (4 / Math.PI ** 2) * (Math.atan(bw / bh) - Math.atan(aw / ah)) ** 2;
  const alpha = v / (v - iou + (1 + CIOU_EPS));
  return iou - (rho2 / c2 + v * alpha);
}

/** Indices of the k largest values (descending; ties towards the lower index). */
function topk(values: Float64Array, k: number): number[] {
  const idx = Array.from(values.keys());
  idx.sort((i, j) => (values[j] as number) - (values[i] as number) || i - j);
  return idx.slice(0, Math.min(k, idx.length));
}

/** Assigns the objects of one image to the anchors, given the detector's current predictions for it. */
export function assignImage(pred: DecodedPredictions, gt: GroundTruth, cfg: DetectorConfig, opts: AssignerOptions = TAL_DEFAULTS): ImageTargets {
  const { anchors: A } = detectorGrid(cfg);
  const nc = cfg.numClasses;
  const M = gt.labels.length;
  checkTruth(gt, nc);
  const { points, strides } = pixelAnchors(cfg);
  const out: ImageTargets = { scores: new Float32Array(A * nc), boxes: new Float32Array(A * 4), fg: new Float32Array(A), object: new Int32Array(A).fill(-1) };
  for (let a = 0; a < A; a++) {
    const s = strides[a] as number;
    const [x, y] = [(points[2 * a] as number) / s, (points[2 * a + 1] as number) / s];
    out.boxes.set([x - 0.5, y - 0.5, x + 0.5, y + 0.5], 4 * a);
  }
  if (M === 0) return out;

  // Alignment and overlap of every (object, candidate anchor); 0 outside candidates.
  const align = Array.from({ length: M }, () => new Float64Array(A));
  const overlap = Array.from({ length: M }, () => new Float64Array(A));
  const pos = Array.from({ length: M }, () => new Uint8Array(A));
  for (let m = 0; m < M; m++) {
    const label = gt.labels[m] as number;
    const [x0, y0, x1, y1] = [gt.boxes[4 * m]!, gt.boxes[4 * m + 1]!, gt.boxes[4 * m + 2]!, gt.boxes[4 * m + 3]!];
    const inside = new Uint8Array(A);
    for (let a = 0; a < A; a++) {
      const [x, y] = [points[2 * a] as number, points[2 * a + 1] as number];
      if (Math.min(x - x0, y - y0, x1 - x, y1 - y) <= EPS) continue;
      inside[a] = 1;
      const o = Math.max(ciou(gt.boxes, 4 * m, pred.boxes, 4 * a), 0);
      overlap[m]![a] = o;
      align[m]![a] = (pred.scores[a * nc + label] as number) ** opts.alpha * o ** opts.beta;
    }
    for (const a of topk(align[m]!, opts.topk)) if (inside[a]) pos[m]![a] = 1;
  }

  // An anchor claimed by several objects goes to the one it overlaps most (first on ties, as argmax).
  for (let a = 0; a < A; a++) {
    let claims = 0;
    for (let m = 0; m < M; m++) claims += pos[m]![a]!;
    if (claims > 1) {
      let best = 0;
      for (let m = 1; m < M; m++) if (overlap[m]![a]! > overlap[best]![a]!) best = m;
      for (let m = 0; m < M; m++) pos[m]![a] = m === best ? 1 : 0;
    }
  }

  // Per object: the largest alignment and overlap over its positives, which rescale the alignment to the score target.
  const maxAlign = new Float64Array(M);
  const maxOverlap = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    for (let a = 0; a < A; a++) {
      if (!pos[m]![a]) continue;
      maxAlign[m] = Math.max(maxAlign[m]!, align[m]![a]!);
      maxOverlap[m] = Math.max(maxOverlap[m]!, overlap[m]![a]!);
    }
  }
  for (let a = 0; a < A; a++) {
    let object = -1;
    let norm = 0;
    for (let m = 0; m < M; m++) {
      if (!pos[m]![a]) continue;
      object = m;
      norm = Math.max(norm, (align[m]![a]! * maxOverlap[m]!) / (maxAlign[m]! + EPS));
    }
    if (object < 0) continue;
    const s = strides[a] as number;
    out.object[a] = object;
    out.fg[a] = 1;
    out.scores[a * nc + (gt.labels[object] as number)] = norm;
    for (let k = 0; k < 4; k++) out.boxes[4 * a + k] = (gt.boxes[4 * object + k] as number) / s;
  }
  return out;
}

/** Stacks per-image targets into detectorModel's train inputs for a batch. */
export function stackTargets(
  targets: readonly ImageTargets[],
  cfg: DetectorConfig,
): { target_scores: Float32Array; target_boxes: Float32Array; fg: Float32Array } {
  const { anchors: A } = detectorGrid(cfg);
  const nc = cfg.numClasses;
  const out = {
    target_scores: new Float32Array(targets.length * A * nc),
    target_boxes: new Float32Array(targets.length * A * 4),
    fg: new Float32Array(targets.length * A),
  };
  targets.forEach((t, i) => {
    out.target_scores.set(t.scores, i * A * nc);
    out.target_boxes.set(t.boxes, i * A * 4);
    out.fg.set(t.fg, i * A);
  });
  return out;
}
