// The parity benchmark's PyTorch side (bench/det-parity.ts → bench/peers/detector_torch.py `train`): on a tiny box
// task exported as the bench exports a dataset version, the peer trains det-nano with the engine's recipe for one
// epoch and answers with a finite loss per epoch, a val mAP@0.5, and test detections the engine's metrics can score
// (classes of the model, scores above the evaluation threshold, at most 100 boxes an image, best first).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { peerPredictions, peerRecipe, trainPeer, writePeerData } from '../../../bench/support/det-parity-data.js';
import { DETECTION_CLASSES } from '../../../src/data/detection/types.js';
import { detectorConfig } from '../../../src/models/detector.js';
import { pixelStats } from '../../../src/training/data/augment.js';
import { EVAL_THRESHOLDS } from '../../../src/training/detect-task.js';
import { truthOf } from '../../../src/training/detection-data.js';
import { detectionReport } from '../../../src/training/metrics/detection.js';
import { applyRecipe, parseTrainOptions } from '../../../src/training/options.js';
import { boxSets, DETECT_TEST_SIZE } from '../../../src/training/testing.js';
import { pythonHas } from '../helpers/peers.js';

const hasTorch = pythonHas('torch', 'numpy');
const dir = await mkdtemp(join(tmpdir(), 'det-parity-peer-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(!hasTorch)('det-parity: the PyTorch peer trains on the exported data', () => {
  it('one epoch of det-nano: finite loss, val mAP@0.5, test detections in range and scored by the engine', async () => {
    const data = boxSets({ count: { train: 24, val: 8, test: 8 }, size: DETECT_TEST_SIZE, seed: 5 });
    const options = applyRecipe(parseTrainOptions({ dataset: 'v', model: 'det-nano', task: 'detect', batchSize: 8, evalBatchSize: 8 }), 'det-nano', {
      architecture: false,
    });
    const config = detectorConfig('det-nano', { imageSize: DETECT_TEST_SIZE, width: 0.125 });
    const recipe = peerRecipe(options, 1, data.train.count);
    await writePeerData(dir, data, { config, recipe, norm: pixelStats(data.train.images), thresholds: EVAL_THRESHOLDS });
    const peer = await trainPeer(dir, 1);

    expect(peer.steps_per_epoch).toBe(3);
    expect(peer.epochs).toHaveLength(1);
    expect(peer.epochs_trained).toBe(1);
    expect(peer.best_epoch).toBe(1);
    const [epoch] = peer.epochs;
    expect(Number.isFinite(epoch!.train_loss) && epoch!.train_loss > 0).toBe(true);
    expect(epoch!.val_map50).toBeGreaterThanOrEqual(0);
    expect(epoch!.val_map50).toBeLessThanOrEqual(1);
    // One epoch: warm-up (3 steps) ends at the peak rate, and the cosine over 3 steps leaves it there.
    expect(epoch!.lr).toBeCloseTo(recipe.lr, 12);
    expect(peer.wall_seconds).toBeGreaterThanOrEqual(peer.train_seconds);

    expect(peer.test.map((t) => t.image_id)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    const S = DETECT_TEST_SIZE;
    let boxes = 0;
    for (const img of peer.test) {
      expect(img.boxes.length).toBeLessThanOrEqual(EVAL_THRESHOLDS.maxDetections);
      const scores = img.boxes.map((b) => b[5]);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      for (const [c, x0, y0, x1, y1, score] of img.boxes) {
        boxes++;
        expect(Number.isInteger(c) && c >= 0 && c < config.numClasses).toBe(true);
        expect(score > EVAL_THRESHOLDS.scoreThreshold && score <= 1).toBe(true);
        // Decoded around an anchor inside the image, at most (regMax − 1) strides to each side.
        for (const v of [x0, y0, x1, y1]) expect(Math.abs(v - S / 2)).toBeLessThanOrEqual(S / 2 + (config.regMax - 1) * 32);
        expect(x1).toBeGreaterThanOrEqual(x0);
        expect(y1).toBeGreaterThanOrEqual(y0);
      }
    }
    expect(boxes).toBeGreaterThan(0);
    const report = detectionReport(truthOf(data.test), peerPredictions(peer), DETECTION_CLASSES);
    expect(report.predictedBoxes).toBe(boxes);
    expect(report.map50).toBeGreaterThanOrEqual(0);
    expect(report.map50).toBeLessThanOrEqual(1);
  }, 120_000);
});
