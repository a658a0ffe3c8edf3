// The in-graph assigner against the host assigner (its reference, ./detector-assign.ts) on random predictions: the
// same foreground anchors, the same objects, score targets equal to float32 rounding; plus the hand cases of the
// host assigner's tests that decide ties and conflicts, and a batch whose images have different numbers of objects.
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { gradients, Graph, serialize, type TensorRef } from '../engine/index.js';
import { type DetectorConfig, detectorConfig, detectorGrid, detectorModel } from './detector.js';
import { assignImage, type GroundTruth, stackTargets, TAL_DEFAULTS } from './detector-assign.js';
import { assignInGraph, padTruths } from './detector-assign-graph.js';
import { decodeImage } from './detector-decode.js';

/** Runs assignInGraph on raw head outputs [B, A, 4R + nc] and padded truths; returns the three targets. */
async function graphTargets(
  cfg: DetectorConfig,
  logits: Float32Array,
  truths: GroundTruth[],
): Promise<{ scores: Float32Array; boxes: Float32Array; fg: Float32Array }> {
  const { anchors: A } = detectorGrid(cfg);
  const R = cfg.regMax;
  const nc = cfg.numClasses;
  const B = truths.length;
  const g = new Graph('assign', { mode: 'train' });
  const head = g.input('head', 'float32', ['batch', A, 4 * R + nc]);
  const [boxLogits, classLogits] = g.node('Split', [head, g.ints([4 * R, nc])], { axis: 2 }, 2) as [TensorRef, TensorRef];
  const t = assignInGraph(
    g,
    { boxLogits, classLogits },
    { boxes: g.input('gt_boxes', 'float32', ['batch', 'objects', 4]), labels: g.input('gt_labels', 'int64', ['batch', 'objects']) },
    cfg,
    TAL_DEFAULTS,
  );
  g.output(t.scores, 'scores');
  g.output(t.boxes, 'boxes');
  g.output(t.fg, 'fg');
  const { boxes, labels, objects: M } = padTruths(truths, nc);
  const session = await ort.InferenceSession.create(g.toModelProto());
  const res = await session.run({
    head: new ort.Tensor('float32', logits, [B, A, 4 * R + nc]),
    gt_boxes: new ort.Tensor('float32', boxes, [B, M, 4]),
    gt_labels: new ort.Tensor('int64', labels, [B, M]),
  });
  await session.release();
  return { scores: res.scores!.data as Float32Array, boxes: res.boxes!.data as Float32Array, fg: res.fg!.data as Float32Array };
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Head outputs with spread-out distance distributions and class logits around the prior. */
function randomLogits(cfg: DetectorConfig, B: number, next: () => number): Float32Array {
  const { anchors: A } = detectorGrid(cfg);
  const width = 4 * cfg.regMax + cfg.numClasses;
  return Float32Array.from({ length: B * A * width }, (_, i) => (i % width < 4 * cfg.regMax ? 4 * (next() - 0.5) : 3 * (next() - 0.5)));
}

function randomTruths(cfg: DetectorConfig, counts: number[], next: () => number): GroundTruth[] {
  const S = cfg.imageSize;
  return counts.map((M) => {
    const boxes: number[] = [];
    const labels: number[] = [];
    for (let m = 0; m < M; m++) {
      const [w, h] = [(0.08 + 0.4 * next()) * S, (0.08 + 0.4 * next()) * S];
      const [x, y] = [next() * (S - w), next() * (S - h)];
      boxes.push(x, y, x + w, y + h);
      labels.push(Math.floor(next() * cfg.numClasses));
    }
    return { boxes: Float32Array.from(boxes), labels };
  });
}

async function expectSameAsHost(cfg: DetectorConfig, logits: Float32Array, truths: GroundTruth[]): Promise<number> {
  const { anchors: A } = detectorGrid(cfg);
  const nc = cfg.numClasses;
  const got = await graphTargets(cfg, logits, truths);
  let foreground = 0;
  truths.forEach((truth, i) => {
    const want = assignImage(decodeImage(logits, i, cfg), truth, cfg, TAL_DEFAULTS);
    expect(Array.from(got.fg.subarray(i * A, (i + 1) * A))).toEqual(Array.from(want.fg));
    foreground += want.fg.reduce((a, b) => a + b, 0);
    for (let a = 0; a < A; a++) {
      for (let c = 0; c < nc; c++) expect(got.scores[(i * A + a) * nc + c]).toBeCloseTo(want.scores[a * nc + c]!, 5);
      for (let k = 0; k < 4; k++) expect(got.boxes[(i * A + a) * 4 + k]).toBeCloseTo(want.boxes[4 * a + k]!, 4);
    }
  });
  return foreground;
}

describe('in-graph task-aligned assigner', () => {
  it('equals the host assigner on random predictions (images with 0–6 objects, 128 px, 5 classes)', async () => {
    const cfg = detectorConfig('det-nano', { imageSize: 128, numClasses: 5 });
    const next = lcg(7);
    const counts = [3, 0, 6, 1, 4, 2];
    const fg = await expectSameAsHost(cfg, randomLogits(cfg, counts.length, next), randomTruths(cfg, counts, next));
    expect(fg).toBeGreaterThan(50); // the comparison covered many foreground anchors, conflicts among them
  });

  it('equals the host assigner where objects overlap (conflicts) and where scores tie (top-k to the lower index)', async () => {
    const cfg = detectorConfig('det-nano', { imageSize: 64, numClasses: 3 });
    const { anchors: A } = detectorGrid(cfg);
    const width = 4 * cfg.regMax + cfg.numClasses;
    // Every anchor predicts the same distances and class scores: alignment ties everywhere inside an object.
    const flat = Float32Array.from({ length: 2 * A * width }, (_, i) => (i % width < 4 * cfg.regMax ? (i % cfg.regMax === 3 ? 2 : 0) : 0.3));
    const truths = [
      { boxes: [4, 4, 40, 40, 8, 8, 48, 36, 30, 2, 62, 60], labels: [0, 1, 2] },
      { boxes: [0, 0, 64, 64], labels: [1] },
    ];
    expect(await expectSameAsHost(cfg, flat, truths)).toBeGreaterThan(10);
  });

  it('the training graph with the assigner inside gives the loss and gradients of the graph fed the host assigner’s targets', async () => {
    const cfg = detectorConfig('det-nano', { imageSize: 64, numClasses: 3, width: 0.125 });
    const { anchors: A } = detectorGrid(cfg);
    const n = 2;
    const S = cfg.imageSize;
    const images = new Float32Array(n * S * S).map((_, i) => Math.sin(i * 0.013) + 0.3 * Math.cos(i * 0.37));
    const truths: GroundTruth[] = [
      { boxes: [8, 8, 40, 36, 30, 20, 60, 60], labels: [0, 2] },
      { boxes: [4, 30, 20, 50], labels: [1] },
    ];
    /** Loss, head output and every gradient of one train graph (same seed, so the same weights). */
    const run = async (targets: 'assigner' | 'inputs', feeds: Record<string, ort.Tensor>): Promise<Map<string, Float32Array>> => {
      const g = new Graph('step', { mode: 'train', seed: 9 });
      const { loss, logits } = detectorModel(cfg, { targets })(g);
      const grads = gradients(
        g,
        loss!,
        g.params().map((p) => g.tensor(p.name)),
      );
      const session = await ort.InferenceSession.create(serialize(g, { outputs: [loss!, logits], extraOutputs: [...grads.values()] }));
      const out = await session.run({ images: new ort.Tensor('float32', images, [n, 1, S, S]), ...feeds });
      await session.release();
      const named = new Map<string, Float32Array>([
        ['loss', out[loss!.name]!.data as Float32Array],
        ['logits', out[logits.name]!.data as Float32Array],
      ]);
      for (const [param, grad] of grads) named.set(param, out[grad.name]!.data as Float32Array);
      return named;
    };
    const gt = padTruths(truths, cfg.numClasses);
    const inGraph = await run('assigner', {
      gt_boxes: new ort.Tensor('float32', gt.boxes, [n, gt.objects, 4]),
      gt_labels: new ort.Tensor('int64', gt.labels, [n, gt.objects]),
    });
    const t = stackTargets(
      truths.map((truth, i) => assignImage(decodeImage(inGraph.get('logits')!, i, cfg), truth, cfg)),
      cfg,
    );
    expect(t.fg.reduce((a, b) => a + b, 0)).toBeGreaterThan(5);
    const fed = await run('inputs', {
      target_scores: new ort.Tensor('float32', t.target_scores, [n, A, cfg.numClasses]),
      target_boxes: new ort.Tensor('float32', t.target_boxes, [n, A, 4]),
      fg: new ort.Tensor('float32', t.fg, [n, A]),
    });
    const [a, b] = [inGraph.get('loss')![0]!, fed.get('loss')![0]!];
    expect(Math.abs(a - b) / Math.abs(b)).toBeLessThan(1e-5);
    let worst = 0;
    for (const [name, want] of fed) {
      if (name === 'loss' || name === 'logits') continue;
      const got = inGraph.get(name)!;
      const scale = Math.max(...want.map(Math.abs), 1e-6);
      want.forEach((w, i) => (worst = Math.max(worst, Math.abs(got[i]! - w) / scale)));
    }
    expect(worst).toBeLessThan(1e-4);
  });
});
