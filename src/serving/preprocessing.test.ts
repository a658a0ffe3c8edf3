// The served tensor for a file is the very tensor training saw for it: a dataset is built by the ETL,
// cached by the training cache, batched by the trainer's prepareBatch (evaluation path: no augmentation),
// and compared bit for bit with what serving computes from the stored file.
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import { listImages } from '../data/datasets/repository.js';
import { buildDataset } from '../data/etl/build.js';
import { loadDatasetConfig } from '../data/etl/config.js';
import { type Fixture, openFixture, writeSeedArchives } from '../data/etl/testing.js';
import { grayPng, grayPng16, rgbJpeg } from '../data/images/testing.js';
import { ModelRegistry } from '../tracking/registry.js';
import { finishedRunWithModel } from '../tracking/testing.js';
import { Tracker } from '../tracking/tracker.js';
import { prepareBatch } from '../training/data/batch.js';
import { loadTrainingData } from '../training/dataset.js';
import { ModelRuntime } from './runtime.js';
import { ServingService } from './service.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/datasets.yaml');
// A trainer stores the train set's pixel statistics: awkward values, as real ones are.
const NORM = { mean: 0.41731, std: 0.23109 };

let fx: Fixture;
let versionId: string;
let registry: ModelRegistry;
let service: ServingService;
beforeAll(async () => {
  fx = await openFixture('sr-serving-');
  await writeSeedArchives(fx.dir, { cxrPerClass: 5, tbPerClass: 5, octPatients: 3, octScans: 2 });
  versionId = (await buildDataset({ db: fx.db, objects: fx.objects, config: loadDatasetConfig(EXAMPLE, { rawDir: fx.dir }) })).versionId;
  const tracker = new Tracker(fx.db, fx.objects);
  registry = new ModelRegistry(fx.db, fx.objects, tracker);
  const runId = await finishedRunWithModel(tracker, { ...NORM, datasetVersion: versionId });
  await registry.register({ runId, name: 'cxr', by: 'test' });
  await registry.setAlias('cxr', 'production', 1, { by: 'test', reason: 'test' });
  service = new ServingService({ registry, db: fx.db, logger: silentLogger }, { threads: 1, aliasPollMs: 0 });
});
afterAll(async () => {
  await service.close();
  await fx.cleanup();
});

describe('serving preprocessing = training preprocessing', () => {
  it('serves, for every file of a dataset version, the identical tensor the training cache + trainer batches give', async () => {
    const size = 32; // vit-tiny's input
    const data = await loadTrainingData({ db: fx.db, objects: fx.objects, cacheDir: join(fx.dir, 'cache'), size, version: versionId, seed: 1 });
    const keyBySha = new Map((await listImages(fx.db, versionId)).map((i) => [i.sha256, i.objectKey]));
    const runtime = await ModelRuntime.start(await registry.loadForInference('cxr', { version: 1 }, { threads: 1 }));
    try {
      let compared = 0;
      for (const set of [data.train, data.val, data.test]) {
        const rows = Array.from({ length: set.count }, (_, i) => i);
        const trained = prepareBatch(set, { rows, augment: null, norm: NORM, seed: 0, epoch: 0, position: 0 }).images;
        for (const row of rows) {
          const file = await fx.objects.getBytes(keyBySha.get(set.sha256[row]!)!);
          const served = await runtime.preprocess(file);
          const expected = trained.subarray(row * size * size, (row + 1) * size * size);
          // Bit for bit: the same float32 values, not merely close ones.
          expect(
            Buffer.from(served.buffer, served.byteOffset, served.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)),
          ).toBe(true);
          compared += 1;
        }
      }
      expect(compared).toBeGreaterThan(40); // PNGs (CXR, TB) and JPEGs (OCT)

      // And end to end: the trainer's tensor sent as a KServe tensor gets the logits predict computed from the file.
      const row = 0;
      const tensor = prepareBatch(data.test, { rows: [row], augment: null, norm: NORM, seed: 0, epoch: 0, position: 0 }).images;
      const logits = (await service.infer('cxr', { data: tensor, shape: [1, 1, size, size] })).outputs[0]!.data as Float32Array;
      const p = await service.predict('cxr', await fx.objects.getBytes(keyBySha.get(data.test.sha256[row]!)!));
      const probs = runtime.classify(logits);
      expect(p.predictions.map((c) => c.class)).toEqual(probs.map((c) => c.class));
      p.predictions.forEach((c, i) => expect(c.probability).toBeCloseTo(probs[i]!.probability, 6));
    } finally {
      await runtime.close();
    }
  });

  it('accepts 16-bit PNGs (scaled to the 8-bit range: the same tensor as the 8-bit file) and RGB JPEGs', async () => {
    const px = (x: number, y: number) => 30 + ((x * 7 + y * 3) % 180);
    const [png8, png16, jpeg] = await Promise.all([grayPng(60, 44, px), grayPng16(60, 44, px), rgbJpeg(60, 44, px)]);
    const [r8, r16, rj] = await Promise.all([service.predict('cxr', png8), service.predict('cxr', png16), service.predict('cxr', jpeg)]);
    expect(r16.predictions).toEqual(r8.predictions);
    expect(rj.predictions.map((c) => c.class)).toHaveLength(3);
    const runtime = await ModelRuntime.start(await registry.loadForInference('cxr', { version: 1 }));
    try {
      expect(Array.from(await runtime.preprocess(png16))).toEqual(Array.from(await runtime.preprocess(png8)));
    } finally {
      await runtime.close();
    }
  });
});
