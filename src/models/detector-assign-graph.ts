// The task-aligned assigner (./detector-assign.ts) as ONNX ops inside the training graph, on the step's own forward
// pass: predictions → targets → loss → backward → update in one ONNX Runtime run, as Ultralytics computes it (one
// forward per step). Run on the host instead, the assigner needs the predictions before the step, which costs a
// second training-mode forward per step (≈ a fifth of det-nano's step at 256 px; docs/detection.md).
//
// The assigner reads the predictions through StopGradient, so nothing of it is differentiated: it is outside the
// differentiated graph exactly as the host assigner is, only computed by ONNX Runtime. It follows
// ./detector-assign.ts step for step — that file stays the readable reference and the test oracle
// (detector-assign-graph.test.ts compares the two on random predictions) — in float32 instead of float64:
//
//   candidate  the anchor's centre lies strictly inside the object's box (by more than 1e-9 px)
//   overlap    max(CIoU(object, predicted box), 0) on candidates, else 0
//   alignment  s^α · overlap^β on candidates (s: the predicted probability of the object's class)
//   positives  the top-k anchors of each object by alignment (ONNX TopK: ties to the lower index), kept on candidates
//   conflicts  an anchor positive for several objects keeps the one of largest overlap (ArgMax: first on ties)
//   targets    class score alignment · max overlap / max alignment over the object's positives; box; fg
//
// Objects arrive padded: gt_boxes [B, M, 4] in input pixels and gt_labels [B, M], M the most objects of any image of
// the batch (at least 1). A padding row is an all-zero box, which contains no anchor centre, so it is never assigned.
import { type Graph, ops, type TensorRef } from '../engine/index.js';
import { anchorPoints, type DetectorConfig, type DetectorHead } from './detector.js';
import { type AssignerOptions, checkTruth, type GroundTruth } from './detector-assign.js';
import { completeIou, type DetectionTargets, distances, distancesToBoxes } from './detector-loss.js';

const { add, cast, div, equal, greater, mul, reduceMax, reduceSum, split, stopGradient, transpose, unsqueeze, where } = ops;

const EPS = 1e-9;

/** The padded ground truth of a batch, as graph inputs. */
export interface GraphTruth {
  /** [B, M, 4]: x0, y0, x1, y1 in input pixels; padding rows are zeros. */
  boxes: TensorRef;
  /** [B, M] int64 class indices (padding rows: 0). */
  labels: TensorRef;
}

/** Targets of every anchor of the batch, computed in the graph from the head's outputs (not differentiated). */
export function assignInGraph(g: Graph, head: DetectorHead, truth: GraphTruth, cfg: DetectorConfig, opts: AssignerOptions): DetectionTargets {
  return g.scope('assign', () => {
    const { points, strides } = anchorPoints(cfg);
    const A = strides.length;
    const nc = cfg.numClasses;
    const dt = head.boxLogits.dtype;
    const stride = g.constant(Array.from(strides), [A, 1], dt);

    // Predictions as the host assigner decodes them: class probabilities [B, A, nc], boxes in input pixels [B, A, 4].
    const scores = ops.sigmoid(g, stopGradient(g, head.classLogits));
    const predBoxes = mul(g, distancesToBoxes(g, distances(g, stopGradient(g, head.boxLogits), cfg.regMax).ltrb, cfg), stride);

    // Candidates [B, M, A]: the anchor's centre strictly inside the object's box.
    const px = g.constant(
      Array.from({ length: A }, (_, a) => (points[2 * a] as number) * (strides[a] as number)),
      [1, 1, A],
      dt,
    );
    const py = g.constant(
      Array.from({ length: A }, (_, a) => (points[2 * a + 1] as number) * (strides[a] as number)),
      [1, 1, A],
      dt,
    );
    const [x0, y0, x1, y1] = split(g, truth.boxes, [1, 1, 1, 1], -1) as [TensorRef, TensorRef, TensorRef, TensorRef]; // [B, M, 1]
    const margin = g.op('Min', [ops.sub(g, px, x0), ops.sub(g, py, y0), ops.sub(g, x1, px), ops.sub(g, y1, py)]);
    const inside = cast(g, greater(g, margin, g.scalar(EPS, dt)), dt);

    // Overlap and alignment [B, M, A]; zero off the candidates.
    const ciou = completeIou(g, unsqueeze(g, truth.boxes, [2]), unsqueeze(g, predBoxes, [1])); // [B, M, A, 1]
    const overlap = mul(g, g.op('Max', [ops.squeeze(g, ciou, [3]), g.scalar(0, dt)]), inside);
    const classes = g.constant(
      Array.from({ length: nc }, (_, c) => c),
      [nc],
      'int64',
    );
    const objectClass = cast(g, equal(g, unsqueeze(g, truth.labels, [-1]), classes), dt); // [B, M, nc] one-hot
    const classScore = g.op('MatMul', [objectClass, transpose(g, scores, [0, 2, 1])]); // [B, M, A]
    const align = mul(g, mul(g, ops.pow(g, classScore, g.scalar(opts.alpha, dt)), ops.pow(g, overlap, g.scalar(opts.beta, dt))), inside);

    // Positives: the top-k anchors of each object, kept on candidates.
    const k = Math.min(opts.topk, A);
    const anchorIndex = g.constant(
      Array.from({ length: A }, (_, a) => a),
      [A],
      'int64',
    );
    const top = ops.topK(g, align, k, -1).indices; // [B, M, k]
    const inTop = reduceMax(g, cast(g, equal(g, unsqueeze(g, top, [-1]), anchorIndex), dt), [2]); // [B, M, A]
    const picked = mul(g, inTop, inside);

    // Conflicts: an anchor claimed by several objects goes to the object it overlaps most (the first on ties).
    const claims = reduceSum(g, picked, [1], true); // [B, 1, A]
    const objectIndex = unsqueeze(
      g,
      g.op('Range', [g.constant([0], [], 'int64'), ops.gather(g, ops.shapeOf(g, truth.labels), 1), g.constant([1], [], 'int64')]),
      [-1],
    );
    const best = cast(g, equal(g, ops.argMax(g, overlap, 1, true), objectIndex), dt); // [B, M, A]
    const pos = where(g, greater(g, claims, g.scalar(1, dt)), best, picked);

    // Score targets: the alignment rescaled per object by max overlap / max alignment over its positives.
    const posAlign = mul(g, align, pos);
    const maxAlign = reduceMax(g, posAlign, [2], true); // [B, M, 1]
    const maxOverlap = reduceMax(g, mul(g, overlap, pos), [2], true);
    const norm = reduceMax(g, div(g, mul(g, posAlign, maxOverlap), add(g, maxAlign, g.scalar(EPS, dt))), [1]); // [B, A]
    const fg = reduceMax(g, pos, [1]); // [B, A]
    // Each foreground anchor has exactly one positive object, so posᵀ is its one-hot and the products select exactly.
    const owner = transpose(g, pos, [0, 2, 1]); // [B, A, M]
    const targetScores = mul(g, g.op('MatMul', [owner, objectClass]), unsqueeze(g, norm, [-1]));
    const ownBox = div(g, g.op('MatMul', [owner, truth.boxes]), stride); // grid units of the anchor's level
    const cell = g.constant(
      Array.from({ length: A }, (_, a) => [points[2 * a]! - 0.5, points[2 * a + 1]! - 0.5, points[2 * a]! + 0.5, points[2 * a + 1]! + 0.5]).flat(),
      [A, 4],
      dt,
    );
    const targetBoxes = where(g, greater(g, unsqueeze(g, fg, [-1]), g.scalar(0, dt)), ownBox, cell);
    return { scores: targetScores, boxes: targetBoxes, fg };
  });
}

/** The objects of a batch as the graph's inputs: padded to the most of any image (at least one row), zero boxes, label 0. */
export function padTruths(truths: readonly GroundTruth[], numClasses: number): { boxes: Float32Array; labels: BigInt64Array; objects: number } {
  const objects = Math.max(1, ...truths.map((t) => t.labels.length));
  const boxes = new Float32Array(truths.length * objects * 4);
  const labels = new BigInt64Array(truths.length * objects);
  truths.forEach((t, i) => {
    checkTruth(t, numClasses);
    for (let m = 0; m < t.labels.length; m++) {
      labels[i * objects + m] = BigInt(t.labels[m] as number);
      for (let k = 0; k < 4; k++) boxes[(i * objects + m) * 4 + k] = t.boxes[4 * m + k] as number;
    }
  });
  return { boxes, labels, objects };
}
