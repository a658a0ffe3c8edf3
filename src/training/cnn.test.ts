// The CNN family through the same trainer as the ViT: cnn-tiny learns 9-class synthetic phantoms well above
// chance and its exported ONNX scores the held-out images exactly as the metrics say; on a dataset version built
// by the real ETL a run interrupted mid-way and resumed from its checkpoint ends where the uninterrupted run
// ends, and the registry accepts the exported model with its CNN config in the metadata.
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SECONDREAD_CLASSES } from '../data/classes.js';
import { decodeModel, EXPORT_METADATA } from '../engine/index.js';
import { cnnConfig } from '../models/cnn.js';
import { ModelRegistry } from '../tracking/index.js';
import { prepareBatch } from './data/batch.js';
import { ARTIFACTS, type FinalMetrics, parseTrainOptions, resumeTraining, startTraining } from './index.js';
import { argmaxRow } from './metrics/confusion.js';
import { applyRecipe } from './options.js';
import { openTrainingFixture, phantomSets, type TrainingFixture } from './testing.js';
import { trainRun } from './trainer.js';

let fx: TrainingFixture;
beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 16, imageSize: 64 });
});
afterAll(async () => {
  await fx?.close();
});

const deps = () => ({ db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir, registry: new ModelRegistry(fx.db, fx.objects, fx.tracker) });

describe('cnn-tiny in the trainer', () => {
  it('beats chance clearly on held-out phantoms, and the exported model agrees', async () => {
    const size = 32;
    const data = await phantomSets({ perClass: { train: 80, val: 15, test: 20 }, size, renderSize: 96, severity: 1, seed: 3 });
    const options = parseTrainOptions({ dataset: 'in-memory-phantoms', model: 'cnn-tiny', epochs: 12, batchSize: 32, lr: 3e-3, patience: 0, seed: 1 });
    const plan = {
      options: { ...applyRecipe(options, 'cnn-tiny', { architecture: false }), dataset: 'in-memory-phantoms', model: 'cnn-tiny', size },
      model: cnnConfig('cnn-tiny'),
    };
    const run = await fx.tracker.startRun({ experiment: 'cnn-learning-test', params: {} });
    const result = await trainRun({ db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir }, run, plan, data);
    expect(result.status).toBe('finished');
    const m = result.metrics as FinalMetrics;
    expect(m.test!.count).toBe(180);
    // Modality alone (CXR vs OCT) is worth at most 1/4: 3/9 needs the classes within a modality too.
    expect(m.test!.accuracy).toBeGreaterThanOrEqual(3 / SECONDREAD_CLASSES.length);

    const bytes = await fx.tracker.getArtifact(run.id, ARTIFACTS.model);
    const pre = JSON.parse(decodeModel(bytes).metadata[EXPORT_METADATA.preprocessing]!) as { mean: number; std: number };
    const rows = Array.from({ length: data.test.count }, (_, i) => i);
    const batch = prepareBatch(data.test, { rows, augment: null, norm: pre, seed: 0, epoch: 0, position: 0 });
    const onnx = await ort.InferenceSession.create(bytes);
    const logits = (await onnx.run({ images: new ort.Tensor('float32', batch.images, [data.test.count, 1, size, size]) })).logits!.data as Float32Array;
    const n = SECONDREAD_CLASSES.length;
    const correct = Array.from(data.test.labels).filter((y, i) => argmaxRow(logits, i * n, n) === y).length;
    expect(correct / data.test.count).toBeCloseTo(m.test!.accuracy, 6);
    await onnx.release();
  }, 400_000);

  it('resumes an interrupted run to the same result, and registers its export with the CNN config', async () => {
    const opts = { dataset: fx.versionId, model: 'cnn-tiny', epochs: 2, batchSize: 16, lr: 2e-3, logEvery: 2, seed: 5, experiment: 'cnn-test' };
    const whole = await startTraining(deps(), { ...opts, name: 'cnn-whole' });
    expect(whole.status).toBe('finished');
    expect(whole.run.params).toMatchObject({ model: 'cnn-tiny', size: 32 });
    expect(whole.run.params.model_config).toMatchObject({ family: 'cnn', name: 'cnn-tiny', widths: [16, 32, 64] });
    const steps = whole.metrics!.training.steps;

    const controller = new AbortController();
    let seen = 0;
    const cut = await startTraining(
      {
        ...deps(),
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase.startsWith('epoch') && ++seen === Math.round(steps / 2)) controller.abort();
        },
      },
      { ...opts, name: 'cnn-cut' },
    );
    expect(cut.status).toBe('killed');
    const resumed = await resumeTraining(deps(), cut.run.id);
    expect(resumed.status).toBe('finished');
    expect(resumed.metrics!.training.steps).toBe(steps);
    expect(resumed.metrics!.val.nll).toBeCloseTo(whole.metrics!.val.nll, 4);
    expect(resumed.metrics!.test!.accuracy).toBeCloseTo(whole.metrics!.test!.accuracy, 6);

    const bytes = await fx.tracker.getArtifact(whole.run.id, ARTIFACTS.model);
    expect(JSON.parse(decodeModel(bytes).metadata[EXPORT_METADATA.model]!)).toMatchObject({ family: 'cnn', name: 'cnn-tiny' });
    expect(decodeModel(bytes).nodes.some((node) => node.opType === 'BatchNormalization')).toBe(false); // folded into the convs
    const mv = await deps().registry.register({ runId: whole.run.id, name: 'cnn-cxr-oct', by: 'test' });
    expect(mv.metadata.classes).toEqual([...SECONDREAD_CLASSES]);
  }, 180_000);
});
