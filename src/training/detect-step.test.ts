// The detector's training step: the in-graph assigner's targets drive the loss down over repeated steps on one batch,
// and the padding of the batch's objects (the assigner's ground-truth inputs) is checked at the boundary.
import { describe, expect, it } from 'vitest';

import { adamw, TrainSession } from '../engine/index.js';
import { detectorConfig, detectorModel } from '../models/detector.js';
import { padTruths } from '../models/detector-assign-graph.js';
import { DetectionStepper } from './detect-step.js';

describe('detection step', () => {
  it('the loss falls over 10 steps on one batch (one image without objects)', async () => {
    const cfg = detectorConfig('det-nano', { imageSize: 64, numClasses: 2, width: 0.125 });
    const session = await TrainSession.create(detectorModel(cfg), { optimizer: adamw({ weightDecay: 0 }), lr: 2e-3, seed: 4 });
    const stepper = new DetectionStepper(session, cfg);
    const n = 3;
    const images = new Float32Array(n * 64 * 64).map((_, i) => {
      const [x, y, k] = [i % 64, (i >> 6) % 64, i >> 12];
      return k < 2 && x > 20 && x < 44 && y > 8 && y < 30 ? 1 : 0;
    });
    const truths = [
      { boxes: [20, 8, 44, 30], labels: [1] },
      { boxes: [20, 8, 44, 30], labels: [1] },
      { boxes: [], labels: [] },
    ];
    const losses: number[] = [];
    for (let s = 0; s < 10; s++) losses.push((await stepper.step({ images, truths })).loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    // The assignment moves with the predictions, so single steps are noisy; the mean of the last three falls well
    // below the first three's.
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-3))).toBeLessThan(0.8 * mean(losses.slice(0, 3)));
    await session.release();
  });

  it('pads objects to the most of any image with zero boxes, and refuses bad labels and box counts', () => {
    const p = padTruths(
      [
        { boxes: [1, 2, 3, 4, 5, 6, 7, 8], labels: [0, 2] },
        { boxes: [], labels: [] },
      ],
      3,
    );
    expect(p.objects).toBe(2);
    expect(Array.from(p.boxes)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(p.labels)).toEqual([0n, 2n, 0n, 0n]);
    expect(padTruths([{ boxes: [], labels: [] }], 3).objects).toBe(1);
    expect(() => padTruths([{ boxes: [0, 0, 8, 8], labels: [3] }], 3)).toThrow(/not a class index/);
    expect(() => padTruths([{ boxes: [0, 0, 8], labels: [0] }], 3)).toThrow(/boxes/);
  });
});
