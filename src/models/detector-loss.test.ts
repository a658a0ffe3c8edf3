// The detection loss on hand cases: CIoU's terms, the two-bin DFL target, BCE at zero logits, and the weighting by
// the assigner's scores — each against values computed here from the formulas.
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { Graph, type TensorRef } from '../engine/index.js';
import { detectorConfig, detectorGrid } from './detector.js';
import { ciou } from './detector-assign.js';
import { completeIou, detectionLoss } from './detector-loss.js';

async function evalGraph(build: (g: Graph) => TensorRef[], feeds: Record<string, { dims: number[]; data: Float32Array }>): Promise<number[][]> {
  const g = new Graph('loss', { mode: 'eval' });
  const outs = build(g).map((t, i) => g.output(t, `out${i}`));
  const session = await ort.InferenceSession.create(g.toModelProto());
  const res = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)])));
  await session.release();
  return outs.map((o) => Array.from(res[o.name]!.data as Float32Array));
}

describe('complete IoU', () => {
  it('is 1 for equal boxes, −ρ²/c² for disjoint boxes of one shape, IoU − ρ²/c² for nested boxes of one aspect', () => {
    const same = [0, 0, 4, 2];
    expect(ciou(same, 0, same, 0)).toBeCloseTo(1, 6);
    // [0,0,2,2] and [4,0,6,2]: IoU 0, centres 4 apart, enclosing box 6×2 → −16/40
    expect(ciou([0, 0, 2, 2], 0, [4, 0, 6, 2], 0)).toBeCloseTo(-16 / 40, 6);
    // [0,0,4,4] in [0,0,8,8]: IoU 1/4, ρ² = 8, c² = 128, same aspect → 1/4 − 1/16
    expect(ciou([0, 0, 4, 4], 0, [0, 0, 8, 8], 0)).toBeCloseTo(0.25 - 8 / 128, 6);
  });

  it('graph CIoU equals the host CIoU (float32)', async () => {
    const n = 50;
    const boxes = (seed: number): Float32Array => {
      const b = new Float32Array(4 * n);
      for (let i = 0; i < n; i++) {
        const [x, y] = [Math.sin(i * seed) * 10, Math.cos(i * seed * 1.3) * 10];
        b.set([x, y, x + 1 + Math.abs(Math.sin(i + seed)) * 8, y + 1 + Math.abs(Math.cos(i * 2 + seed)) * 5], 4 * i);
      }
      return b;
    };
    const [p, t] = [boxes(0.7), boxes(1.9)];
    const [got] = await evalGraph((g) => [completeIou(g, g.input('p', 'float32', [n, 4]), g.input('t', 'float32', [n, 4]))], {
      p: { dims: [n, 4], data: p },
      t: { dims: [n, 4], data: t },
    });
    got!.forEach((v, i) => expect(v).toBeCloseTo(ciou(p, 4 * i, t, 4 * i), 5));
  });
});

describe('detection loss', () => {
  it('zero logits, one foreground anchor: box, class and DFL terms equal their formulas', async () => {
    const cfg = detectorConfig('det-nano', { imageSize: 32, numClasses: 2 });
    const { anchors: A } = detectorGrid(cfg);
    const R = cfg.regMax;
    const scores = new Float32Array(A * 2);
    scores[1] = 0.8; // anchor 0 (centre 0.5, 0.5 on the stride-8 grid), class 1
    const fg = new Float32Array(A);
    fg[0] = 1;
    const boxes = new Float32Array(A * 4).map((_, i) => [0, 0, 1, 1][i % 4]!);
    // Distances from (0.5, 0.5): left 2.3, top 1, right 4, bottom 20 (clipped to 14.99)
    boxes.set([0.5 - 2.3, 0.5 - 1, 0.5 + 4, 0.5 + 20], 0);
    const [total, box, cls, dfl] = await evalGraph(
      (g) => {
        const head = { boxLogits: g.input('bl', 'float32', [1, A, 4 * R]), classLogits: g.input('cl', 'float32', [1, A, 2]) };
        const targets = { scores: g.input('ts', 'float32', [1, A, 2]), boxes: g.input('tb', 'float32', [1, A, 4]), fg: g.input('fg', 'float32', [1, A]) };
        const l = detectionLoss(g, head, targets, cfg);
        return [l.total, l.box, l.cls, l.dfl];
      },
      {
        bl: { dims: [1, A, 4 * R], data: new Float32Array(A * 4 * R) },
        cl: { dims: [1, A, 2], data: new Float32Array(A * 2) },
        ts: { dims: [1, A, 2], data: scores },
        tb: { dims: [1, A, 4], data: boxes },
        fg: { dims: [1, A], data: fg },
      },
    );
    // Uniform bins: every side's distance is 7.5, so the predicted box is the anchor ± 7.5; N = max(0.8, 1) = 1.
    const pred = [0.5 - 7.5, 0.5 - 7.5, 0.5 + 7.5, 0.5 + 7.5];
    const expected = {
      box: (1 - ciou(pred, 0, boxes, 0)) * 0.8,
      cls: A * 2 * Math.log(2), // BCE(0, t) = log 2 for any t
      dfl: Math.log(R) * 0.8, // each side's two-bin target sums to 1 against log p = −log R
    };
    expect(box![0]).toBeCloseTo(expected.box, 5);
    expect(cls![0]).toBeCloseTo(expected.cls, 4);
    expect(dfl![0]).toBeCloseTo(expected.dfl, 5);
    expect(total![0]).toBeCloseTo(7.5 * expected.box + 0.5 * expected.cls + 1.5 * expected.dfl, 3);
  });

  it('DFL puts the target mass on the two bins around the distance: peaked logits at 2 and 3 give the two-point cross-entropy', async () => {
    const cfg = detectorConfig('det-nano', { imageSize: 32, numClasses: 1 });
    const { anchors: A } = detectorGrid(cfg);
    const R = cfg.regMax;
    const logits = new Float32Array(A * 4 * R);
    for (let s = 0; s < 4; s++) {
      logits[s * R + 2] = 3; // anchor 0, every side: bins 2 and 3 raised
      logits[s * R + 3] = 1;
    }
    const scores = new Float32Array(A);
    scores[0] = 1;
    const fg = new Float32Array(A);
    fg[0] = 1;
    const boxes = new Float32Array(A * 4).map((_, i) => [0, 0, 1, 1][i % 4]!);
    boxes.set([0.5 - 2.25, 0.5 - 2.25, 0.5 + 2.25, 0.5 + 2.25], 0);
    const [dfl] = await evalGraph(
      (g) => {
        const head = { boxLogits: g.input('bl', 'float32', [1, A, 4 * R]), classLogits: g.input('cl', 'float32', [1, A, 1]) };
        const targets = { scores: g.input('ts', 'float32', [1, A, 1]), boxes: g.input('tb', 'float32', [1, A, 4]), fg: g.input('fg', 'float32', [1, A]) };
        return [detectionLoss(g, head, targets, cfg).dfl];
      },
      {
        bl: { dims: [1, A, 4 * R], data: logits },
        cl: { dims: [1, A, 1], data: new Float32Array(A) },
        ts: { dims: [1, A, 1], data: scores },
        tb: { dims: [1, A, 4], data: boxes },
        fg: { dims: [1, A], data: fg },
      },
    );
    const z = Math.exp(3) + Math.exp(1) + (R - 2);
    const [lp2, lp3] = [3 - Math.log(z), 1 - Math.log(z)];
    expect(dfl![0]).toBeCloseTo(-(0.75 * lp2 + 0.25 * lp3), 5);
  });
});
