// The detector's training loss, inside the differentiated graph (YOLOv8's v8DetectionLoss). The task-aligned
// assigner runs outside the graph (./detector-assign.ts) and feeds, per anchor, soft class targets, a target box
// and a foreground flag; with N = max(Σ target_scores, 1):
//
//   cls = Σ_anchors,classes BCE(class logit, target score) / N
//   box = Σ_fg (1 − CIoU(predicted box, target box))·w / N          w = Σ_c target_scores (per anchor)
//   dfl = Σ_fg DFL(box logits, target distances)·w / N
//   loss = 7.5·box + 0.5·cls + 1.5·dfl                              (YOLOv8's default gains)
//
// Predicted box: each side's distance is the expectation of a softmax over regMax bins (0 … regMax−1, in stride
// units) around the anchor's cell centre. DFL (Li et al. 2020) is the cross-entropy against the two bins around
// the target distance d, weighted by proximity: target mass max(0, 1 − |k − d|) on bin k, d clipped to
// [0, regMax − 1.01]. CIoU (Zheng et al. 2020) = IoU − ρ²/c² − α·v, v = 4/π²·(atan(w_t/h_t) − atan(w_p/h_p))²,
// α = v / (v − IoU + 1) held constant for the gradient (as the paper and Ultralytics do).
//
// Unlike Ultralytics, which selects the foreground anchors by boolean indexing, every anchor is computed and the
// background ones get weight 0 (static shapes, one graph); the assigner gives them a harmless non-degenerate box.
// The total is not multiplied by the batch size (Ultralytics does, for its SGD learning rates).
import { type Graph, ops, type TensorRef } from '../engine/index.js';
import { anchorPoints, type DetectorConfig, type DetectorHead } from './detector.js';

const { add, atan, div, mul, neg, reduceSum, relu, reshape, sigmoidBinaryCrossEntropy, softmax, logSoftmax, split, stopGradient, sub } = ops;

export interface DetectionLossWeights {
  box: number;
  cls: number;
  dfl: number;
}

export const YOLO_LOSS_WEIGHTS: DetectionLossWeights = { box: 7.5, cls: 0.5, dfl: 1.5 };

/** The assigner's targets as graph inputs (see detectorModel). */
export interface DetectionTargets {
  /** [B, A, nc]: IoU-scaled alignment of the assigned object's class, 0 elsewhere. */
  scores: TensorRef;
  /** [B, A, 4]: x0, y0, x1, y1 in grid units of the anchor's level. */
  boxes: TensorRef;
  /** [B, A]: 1 where the anchor is assigned an object. */
  fg: TensorRef;
}

export interface DetectionLoss {
  total: TensorRef;
  box: TensorRef;
  cls: TensorRef;
  dfl: TensorRef;
}

/** Small constant of Ultralytics' bbox_iou, kept so the two agree to rounding. */
const EPS = 1e-7;

/** The four coordinates of boxes [..., 4] as [..., 1] tensors. */
const corners = (g: Graph, b: TensorRef): [TensorRef, TensorRef, TensorRef, TensorRef] =>
  split(g, b, [1, 1, 1, 1], -1) as [TensorRef, TensorRef, TensorRef, TensorRef];

/** Complete IoU of boxes p and t ([..., 4], x0 y0 x1 y1) → [..., 1]. */
export function completeIou(g: Graph, p: TensorRef, t: TensorRef): TensorRef {
  const [px0, py0, px1, py1] = corners(g, p);
  const [tx0, ty0, tx1, ty1] = corners(g, t);
  const max = (a: TensorRef, b: TensorRef): TensorRef => g.op('Max', [a, b]);
  const min = (a: TensorRef, b: TensorRef): TensorRef => g.op('Min', [a, b]);
  const sq = (a: TensorRef): TensorRef => mul(g, a, a);
  const [pw, ph] = [sub(g, px1, px0), add(g, sub(g, py1, py0), EPS)];
  const [tw, th] = [sub(g, tx1, tx0), add(g, sub(g, ty1, ty0), EPS)];
  const inter = mul(g, relu(g, sub(g, min(px1, tx1), max(px0, tx0))), relu(g, sub(g, min(py1, ty1), max(py0, ty0))));
  const union = add(g, sub(g, add(g, mul(g, pw, ph), mul(g, tw, th)), inter), EPS);
  const iou = div(g, inter, union);
  // Enclosing box diagonal², centre distance²
  const c2 = add(g, add(g, sq(sub(g, max(px1, tx1), min(px0, tx0))), sq(sub(g, max(py1, ty1), min(py0, ty0)))), EPS);
  const rho2 = div(g, add(g, sq(sub(g, add(g, tx0, tx1), add(g, px0, px1))), sq(sub(g, add(g, ty0, ty1), add(g, py0, py1)))), 4);
  const v = mul(g, sq(sub(g, atan(g, div(g, tw, th)), atan(g, div(g, pw, ph)))), 4 / Math.PI ** 2);
  const alpha = stopGradient(g, div(g, v, add(g, sub(g, v, iou), 1 + EPS)));
  return sub(g, iou, add(g, div(g, rho2, c2), mul(g, v, alpha)));
}

/** Expected distances [B, A, 4] from box logits [B, A, 4·R], and the log-probabilities of the bins [B, A, 4, R]. */
export function distances(g: Graph, boxLogits: TensorRef, regMax: number): { ltrb: TensorRef; logp: TensorRef } {
  const [b, a] = boxLogits.shape;
  const bins = reshape(g, boxLogits, [b!, a!, 4, regMax]);
  const proj = g.constant(
    Array.from({ length: regMax }, (_, k) => k),
    [regMax],
    boxLogits.dtype,
  );
  const ltrb = g.op('ReduceSum', [mul(g, softmax(g, bins, -1), proj), g.ints([-1])], { keepdims: 0 });
  return { ltrb, logp: logSoftmax(g, bins, -1) };
}

/** Boxes x0 y0 x1 y1 [B, A, 4] from distances to the sides of each anchor point (grid units). */
export function distancesToBoxes(g: Graph, ltrb: TensorRef, cfg: DetectorConfig): TensorRef {
  const { points } = anchorPoints(cfg);
  const xy = g.constant(Array.from(points), [points.length / 2, 2], ltrb.dtype);
  const [lt, rb] = split(g, ltrb, [2, 2], -1) as [TensorRef, TensorRef];
  return ops.concat(g, [sub(g, xy, lt), add(g, xy, rb)], -1);
}

/** The loss of the header from the head's raw outputs and the assigner's targets. */
export function detectionLoss(
  g: Graph,
  head: DetectorHead,
  targets: DetectionTargets,
  cfg: DetectorConfig,
  weights: Partial<DetectionLossWeights> = {},
): DetectionLoss {
  const gain = { ...YOLO_LOSS_WEIGHTS, ...weights };
  const R = cfg.regMax;
  const dt = head.boxLogits.dtype;
  const norm = g.op('Max', [reduceSum(g, targets.scores), g.scalar(1, targets.scores)]);
  const w = mul(g, reduceSum(g, targets.scores, [2]), targets.fg); // [B, A]

  const cls = div(g, reduceSum(g, sigmoidBinaryCrossEntropy(g, head.classLogits, targets.scores)), norm);

  const { ltrb, logp } = distances(g, head.boxLogits, R);
  const ciou = reshape(g, completeIou(g, distancesToBoxes(g, ltrb, cfg), targets.boxes), [...w.shape]);
  const box = div(g, reduceSum(g, mul(g, sub(g, g.scalar(1, ciou), ciou), w)), norm);

  // Target distances from the anchor to the target's sides, clipped into the bins' range; soft two-bin targets.
  const { points } = anchorPoints(cfg);
  const xy = g.constant(Array.from(points), [points.length / 2, 2], dt);
  const [t0, t1] = split(g, targets.boxes, [2, 2], -1) as [TensorRef, TensorRef];
  const tLtrb = g.op('Clip', [ops.concat(g, [sub(g, xy, t0), sub(g, t1, xy)], -1), g.scalar(0, t0), g.scalar(R - 1 - 0.01, t0)]);
  const k = g.constant(
    Array.from({ length: R }, (_, i) => i),
    [R],
    dt,
  );
  const soft = relu(g, sub(g, g.scalar(1, tLtrb), ops.abs(g, sub(g, ops.unsqueeze(g, tLtrb, [-1]), k)))); // [B, A, 4, R]
  const perAnchor = div(g, neg(g, reduceSum(g, mul(g, soft, logp), [2, 3])), 4); // mean over the 4 sides
  const dfl = div(g, reduceSum(g, mul(g, perAnchor, w)), norm);

  const total = add(g, add(g, mul(g, box, gain.box), mul(g, cls, gain.cls)), mul(g, dfl, gain.dfl));
  return { total, box, cls, dfl };
}
