// The detector's structure: YOLOv8's published sizes (parameters and GFLOPs) reproduced at width/depth 0.25/0.33 and
// 0.5/0.33, the output layout, configuration errors, and one training step through a TrainSession.
import { describe, expect, it } from 'vitest';

import { adamw, EngineError, Graph, TrainSession } from '../engine/index.js';
import { anchorPoints, detector, detectorConfig, detectorFlops, detectorGrid, detectorModel, detectorParameterCount } from './detector.js';
import { assignImage, stackTargets } from './detector-assign.js';
import { decodeImage } from './detector-decode.js';

describe('detector structure', () => {
  // Ultralytics' model summaries (80 classes, RGB, 640 px): YOLOv8n 3,157,200 parameters, 8.7 GFLOPs; YOLOv8s 11,166,560,
  // 28.6 GFLOPs. Their parameter count includes the DFL projection (16 fixed weights), which here is a constant.
  it.each([
    ['det-nano', 3_157_200 - 16, 8.7],
    ['det-small', 11_166_560 - 16, 28.6],
  ] as const)('%s at 80 classes, RGB, 640 px has YOLOv8’s parameters and GFLOPs', (name, params, gflops) => {
    const cfg = detectorConfig(name, { numClasses: 80, inChannels: 3, imageSize: 640 });
    expect(detectorParameterCount(cfg)).toBe(params);
    expect(detectorFlops(cfg) / 1e9).toBeCloseTo(gflops, 1);
  });

  it('det-nano for the 14 VinDr findings on 256 px grayscale: 3.01M parameters, 1.29 GFLOPs forward', () => {
    const cfg = detectorConfig('det-nano');
    expect(detectorParameterCount(cfg)).toBe(3_013_274);
    expect(detectorFlops(cfg)).toBe(1_285_865_472);
    expect(detectorGrid(cfg)).toEqual({ sides: [32, 16, 8], anchors: 32 * 32 + 16 * 16 + 8 * 8 });
  });

  it('logits [batch, anchors, 4·16 + classes]; train mode adds the padded ground truth (or, on request, the targets) as inputs', () => {
    const cfg = detectorConfig('det-nano', { imageSize: 64, numClasses: 3 });
    const e = new Graph('eval', { mode: 'eval' });
    expect(detectorModel(cfg)(e).logits.shape).toEqual(['batch', 84, 67]);
    expect(e.inputs().map((t) => t.name)).toEqual(['images']);
    const a = new Graph('train', { mode: 'train' });
    expect(detectorModel(cfg)(a).loss!.shape).toEqual([]);
    expect(a.inputs().map((x) => [x.name, x.dtype, x.shape])).toEqual([
      ['images', 'float32', ['batch', 1, 64, 64]],
      ['gt_boxes', 'float32', ['batch', 'objects', 4]],
      ['gt_labels', 'int64', ['batch', 'objects']],
    ]);
    const t = new Graph('train', { mode: 'train' });
    const { loss } = detectorModel(cfg, { targets: 'inputs' })(t);
    expect(loss!.shape).toEqual([]);
    expect(t.inputs().map((x) => [x.name, x.shape])).toEqual([
      ['images', ['batch', 1, 64, 64]],
      ['target_scores', ['batch', 84, 3]],
      ['target_boxes', ['batch', 84, 4]],
      ['fg', ['batch', 84]],
    ]);
  });

  it('anchor points run level by level, rows then columns, at cell centres', () => {
    const { points, strides } = anchorPoints(detectorConfig('det-nano', { imageSize: 64 }));
    expect(Array.from(points.slice(0, 6))).toEqual([0.5, 0.5, 1.5, 0.5, 2.5, 0.5]);
    expect(Array.from(points.slice(2 * 8, 2 * 9))).toEqual([0.5, 1.5]);
    expect(Array.from(strides.slice(63, 66))).toEqual([8, 16, 16]);
    expect(strides[83]).toBe(32);
  });

  it('rejects sizes that are not multiples of 32 and unknown names', () => {
    expect(() => detectorConfig('det-nano', { imageSize: 100 })).toThrow(EngineError);
    expect(() => detectorConfig('det-huge')).toThrow(/unknown detector config 'det-huge'/);
    const g = new Graph('g', { mode: 'eval' });
    expect(() => detector(g, g.input('x', 'float32', [1, 3, 64, 64]), detectorConfig('det-nano', { imageSize: 64 }))).toThrow(
      /expects images \[B, 1, 64, 64\]/,
    );
  });

  it('assign, then train steps on one batch: the loss is finite and falls', async () => {
    const cfg = detectorConfig('det-nano', { imageSize: 64, numClasses: 2, width: 0.125 });
    const model = detectorModel(cfg, { targets: 'inputs' });
    const session = await TrainSession.create(model, { optimizer: adamw({ weightDecay: 0 }), lr: 2e-3, seed: 3 });
    const n = 2;
    const images = new Float32Array(n * 64 * 64).map((_, i) => (i % 64 > 20 && i % 64 < 40 && (i >> 6) % 64 > 10 && (i >> 6) % 64 < 30 ? 1 : 0));
    const gt = { boxes: [20, 10, 40, 30], labels: [1] };
    const losses: number[] = [];
    // Targets from the initial predictions (zero logits decode to the anchors' uniform boxes), then held fixed so the
    // loss is one function of the weights.
    const preds = Array.from({ length: n }, (_, i) => decodeImage(new Float32Array(n * 84 * (64 + 2)), i, cfg));
    const t = stackTargets(
      preds.map((p) => assignImage(p, gt, cfg)),
      cfg,
    );
    expect(t.fg.reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
    for (let s = 0; s < 8; s++) {
      const r = await session.step({
        images: { data: images, shape: [n, 1, 64, 64] },
        target_scores: { data: t.target_scores, shape: [n, 84, 2] },
        target_boxes: { data: t.target_boxes, shape: [n, 84, 4] },
        fg: { data: t.fg, shape: [n, 84] },
      });
      losses.push(r.loss);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    await session.release();
  });
});

describe('detector parameter names', () => {
  it('equal Ultralytics’ state_dict keys (layer numbers of yolov8.yaml)', () => {
    const g = new Graph('names', { mode: 'train' });
    detectorModel(detectorConfig('det-nano', { imageSize: 64 }))(g);
    const names = g.state().map((p) => p.name);
    for (const key of [
      'model.0.conv.weight',
      'model.2.m.0.cv1.bn.running_var',
      'model.9.cv2.conv.weight',
      'model.21.cv1.bn.bias',
      'model.22.cv2.0.0.conv.weight',
      'model.22.cv2.2.1.bn.weight',
      'model.22.cv2.1.2.bias',
      'model.22.cv3.2.2.weight',
    ])
      expect(names).toContain(key);
    expect(names.filter((n) => /^model\.(10|11|13|14|17|20)\./.test(n))).toEqual([]);
  });
});
