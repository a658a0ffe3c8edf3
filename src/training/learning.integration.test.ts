// Done-when: the classifiers train in CI and clearly beat chance. The trainer (the same trainRun the CLI ends in:
// loader worker, augmentation, class weights, warm-up + cosine, early-stopping bookkeeping, calibration, export)
// learns 9-class synthetic phantoms with conspicuous findings, for the ViT and for the CNN family. Modality alone
// (CXR vs OCT) is worth at most 1/4 accuracy, so ≥ 3/9 on held-out images means the classes within a modality were
// learned too. The exported ONNX must give the same held-out accuracy as the metrics (the served model is the
// trained model). Integration tier: each run trains for about a minute on 2 cores, too long for `npm test`
// (the unit tier keeps the quick learning checks in src/models/*.test.ts and the trainer's own tests).
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SECONDREAD_CLASSES } from '../data/classes.js';
import { decodeModel, EXPORT_METADATA } from '../engine/index.js';
import { cnnConfig } from '../models/cnn.js';
import { vitConfig } from '../models/vit.js';
import { prepareBatch } from './data/batch.js';
import type { FinalMetrics } from './finalize.js';
import { ARTIFACTS, parseTrainOptions } from './index.js';
import { argmaxRow } from './metrics/confusion.js';
import { applyRecipe } from './options.js';
import { openTrainingFixture, phantomSets, type TrainingFixture } from './testing.js';
import { trainRun } from './trainer.js';

const SIZE = 32;
let fx: TrainingFixture;
beforeAll(async () => {
  fx = await openTrainingFixture({ dataset: false });
});
afterAll(async () => {
  await fx?.close();
});

/** Trains `model` on in-memory phantoms; checks held-out accuracy ≥ 3/9 and that the export scores it the same. */
async function learnsAndExportAgrees(model: 'vit-tiny' | 'cnn-tiny', recipe: { epochs: number; lr: number }): Promise<void> {
  const data = await phantomSets({ perClass: { train: 80, val: 15, test: 20 }, size: SIZE, renderSize: 96, severity: 1, seed: 3 });
  const options = parseTrainOptions({ dataset: 'in-memory-phantoms', model, size: SIZE, batchSize: 32, patience: 0, seed: 1, ...recipe });
  const config = model === 'vit-tiny' ? vitConfig(model, { imageSize: SIZE, linearInit: options.linearInit }) : cnnConfig(model);
  const plan = {
    options: { ...applyRecipe(options, model, { architecture: false }), dataset: 'in-memory-phantoms', model, size: SIZE },
    model: config,
  };
  const run = await fx.tracker.startRun({ experiment: `learning-test-${model}`, params: {} });
  const result = await trainRun({ db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir }, run, plan, data);
  expect(result.status).toBe('finished');
  const m = result.metrics as FinalMetrics;
  expect(m.test!.count).toBe(180);
  expect(m.test!.accuracy).toBeGreaterThanOrEqual(3 / SECONDREAD_CLASSES.length);

  // The exported model, run by a fresh ONNX Runtime session, with the normalization from its own metadata.
  const bytes = await fx.tracker.getArtifact(run.id, ARTIFACTS.model);
  const pre = JSON.parse(decodeModel(bytes).metadata[EXPORT_METADATA.preprocessing]!) as { mean: number; std: number };
  const rows = Array.from({ length: data.test.count }, (_, i) => i);
  const batch = prepareBatch(data.test, { rows, augment: null, norm: pre, seed: 0, epoch: 0, position: 0 });
  const onnx = await ort.InferenceSession.create(bytes);
  const out = await onnx.run({ images: new ort.Tensor('float32', batch.images, [data.test.count, 1, SIZE, SIZE]) });
  const logits = out.logits!.data as Float32Array;
  const n = SECONDREAD_CLASSES.length;
  const correct = Array.from(data.test.labels).filter((y, i) => argmaxRow(logits, i * n, n) === y).length;
  expect(correct / data.test.count).toBeCloseTo(m.test!.accuracy, 6);
  await onnx.release();
}

describe('the classifiers learn synthetic phantoms', () => {
  it('vit-tiny beats chance clearly on held-out images, and the exported model agrees', async () => {
    await learnsAndExportAgrees('vit-tiny', { epochs: 25, lr: 2e-3 });
  }, 300_000);

  it('cnn-tiny beats chance clearly on held-out phantoms, and the exported model agrees', async () => {
    await learnsAndExportAgrees('cnn-tiny', { epochs: 12, lr: 3e-3 });
  }, 400_000);
});
