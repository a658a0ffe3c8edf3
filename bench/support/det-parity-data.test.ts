import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { detectorConfig } from '../../src/models/detector.js';
import { EVAL_THRESHOLDS } from '../../src/training/detect-task.js';
import { applyRecipe, parseTrainOptions } from '../../src/training/options.js';
import { boxSets, DETECT_TEST_SIZE } from '../../src/training/testing.js';
import { PEER_SPLITS, type PeerIndex, peerPredictions, peerRecipe, writePeerData } from './det-parity-data.js';

const dir = await mkdtemp(join(tmpdir(), 'det-parity-data-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const options = (given: Record<string, unknown> = {}) =>
  applyRecipe(parseTrainOptions({ dataset: 'v', model: 'det-nano', task: 'detect', ...given }), 'det-nano', { architecture: false });

describe('det-parity data export', () => {
  const data = boxSets({ count: { train: 5, val: 3, test: 2 }, size: DETECT_TEST_SIZE, seed: 4 });
  const config = detectorConfig('det-nano', { imageSize: DETECT_TEST_SIZE });
  const meta = { config, recipe: peerRecipe(options(), 7, data.train.count), norm: { mean: 0.2, std: 0.3 }, thresholds: EVAL_THRESHOLDS };

  it('writes every split raw (images, boxes, classes, offsets) and an index the peer reads', async () => {
    await writePeerData(dir, data, meta);
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as PeerIndex;
    expect(index.size).toBe(DETECT_TEST_SIZE);
    expect(index.config).toEqual(config);
    expect(index.thresholds).toEqual({ scoreThreshold: 0.001, iouThreshold: 0.6, maxDetections: 100 });
    for (const split of PEER_SPLITS) {
      const set = data[split];
      const raw = async (name: string) => {
        const b = await readFile(join(dir, `${split}-${name}`));
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      };
      expect(index.splits[split]).toEqual({ count: set.count, boxes: set.boxes!.classes.length });
      expect(new Uint8Array(await raw('images.u8'))).toEqual(set.images);
      expect(new Float32Array(await raw('coords.f32'))).toEqual(set.boxes!.coords);
      expect(new Uint8Array(await raw('classes.u8'))).toEqual(set.boxes!.classes);
      expect(new Uint32Array(await raw('offsets.u32'))).toEqual(set.boxes!.offsets);
      expect(set.boxes!.classes.length).toBeGreaterThan(0);
    }
  });

  it('carries the engine recipe: det-nano defaults, the loop augmentation, the run epochs; refuses what the peer lacks', () => {
    expect(meta.recipe).toEqual({
      epochs: 7,
      batchSize: 5, // 16, capped by the 5 training images as the loop caps it
      lr: 2e-3,
      minLrRatio: 0.01,
      weightDecay: 5e-4,
      warmupEpochs: 1,
      clipGradNorm: 1,
      patience: 10,
      seed: 1,
      evalBatchSize: 128,
      augment: expect.objectContaining({ cropMinScale: 0.5, cropMaxAspect: 4 / 3, brightness: 0.2, contrast: 0.2, hflip: false, sharpShare: 0 }),
    });
    expect(peerRecipe(options({ augment: false }), 3, 100).augment).toBeNull();
    expect(() => peerRecipe(options({ emaDecay: 0.99 }), 3, 100)).toThrow(/ema-decay/);
    expect(() => peerRecipe(options({ balance: 'sampler' }), 3, 100)).toThrow(/balance sampler/);
  });

  it('refuses a set without boxes or of another size', async () => {
    await expect(writePeerData(dir, { ...data, val: { ...data.val, boxes: undefined } }, meta)).rejects.toThrow(/val set has no boxes/);
    await expect(writePeerData(dir, data, { ...meta, config: detectorConfig('det-nano') })).rejects.toThrow(/64 px, the model takes 256 px/);
  });

  it("reads the peer's test detections as the engine's predictions", () => {
    const preds = peerPredictions({
      test: [
        { image_id: '0', boxes: [[3, 1, 2, 10, 12, 0.9]] },
        { image_id: '1', boxes: [] },
      ],
    } as never);
    expect(preds).toEqual([
      { imageId: '0', boxes: [{ classId: 3, x0: 1, y0: 2, x1: 10, y1: 12, score: 0.9 }] },
      { imageId: '1', boxes: [] },
    ]);
  });
});
