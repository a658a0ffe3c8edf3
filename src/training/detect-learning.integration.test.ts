// The detector learns through the one trainer the classifier uses: a small det-nano learns a trivial box task (filled
// vs hollow squares) — the loss falls and held-out mAP@0.5 is far above chance — and exports a model whose in-graph
// NMS gives the detections the metrics scored. Integration tier: ten epochs train for about a minute on 2 cores, too
// long for `npm test` (detect-train.test.ts keeps the detector's resume and ETL checks there).
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DETECTION_CLASSES } from '../data/detection/types.js';
import { decodeModel, EXPORT_METADATA } from '../engine/index.js';
import { DETECTION_METADATA_KEY, DETECTION_OUTPUTS } from '../models/detector-export.js';
import { prepareBatch } from './data/batch.js';
import { DETECTION_ARTIFACTS } from './finalize-detect.js';
import { ARTIFACTS } from './index.js';
import { boxSets, DETECT_TEST_SIZE, detectTestPlan, openTrainingFixture, type TrainingFixture } from './testing.js';
import { trainRun } from './trainer.js';

let fx: TrainingFixture;
beforeAll(async () => {
  fx = await openTrainingFixture({ dataset: false });
});
afterAll(async () => {
  await fx?.close();
});

const deps = () => ({ db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir });
describe('det-nano in the trainer', () => {
  const data = boxSets({ count: { train: 160, val: 32, test: 32 }, size: DETECT_TEST_SIZE, seed: 2 });
  const recipe = { epochs: 10, batchSize: 16, lr: 4e-3, warmupEpochs: 1, patience: 0, cropMinScale: 0.8, seed: 3, evalBatchSize: 32, logEvery: 5 };

  it('learns the trivial task: the loss falls, test mAP@0.5 is far above chance, the export with NMS finds the objects', async () => {
    const run = await fx.tracker.startRun({ experiment: 'detect-learning-test', params: {} });
    const r = await trainRun(deps(), run, detectTestPlan(recipe), data);
    expect(r.status).toBe('finished');
    const m = r.detection!;
    expect(m.task).toBe('detect');
    const history = (await fx.tracker.metrics(run.id, 'train/epoch_loss')).map((p) => p.value);
    expect(history).toHaveLength(10);
    expect(history.at(-1)!).toBeLessThan(0.6 * history[0]!);
    // Random boxes score ≈ 0; measured 0.9+ on this task.
    expect(m.test!.map50!).toBeGreaterThan(0.5);
    expect(m.test!.map40!).toBeGreaterThanOrEqual(m.test!.map50!);
    expect(m.test!.mapCoco!).toBeLessThan(m.test!.map50!);
    expect(m.test!.perClass.filter((c) => c.ap50 !== null).map((c) => c.class)).toEqual(DETECTION_CLASSES.slice(0, 2));
    expect((await fx.tracker.metrics(run.id, 'val/map50')).map((p) => p.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.run.summary).toMatchObject({ test_map50: m.test!.map50, epochs: 10 });

    const names = (await fx.tracker.listArtifacts(run.id)).map((a) => a.name).sort();
    expect(names).toEqual(
      [
        ARTIFACTS.best,
        ARTIFACTS.last,
        ARTIFACTS.curves,
        ARTIFACTS.metrics,
        ARTIFACTS.model,
        DETECTION_ARTIFACTS.prCurves,
        DETECTION_ARTIFACTS.classTable,
      ].sort(),
    );

    // The exported graph (NMS inside, Ultralytics' predict thresholds) finds the objects of a test image.
    const bytes = await fx.tracker.getArtifact(run.id, ARTIFACTS.model);
    const meta = decodeModel(bytes).metadata;
    expect(meta['secondread.task']).toBe('detect');
    expect(JSON.parse(meta[DETECTION_METADATA_KEY]!)).toMatchObject({ scoreThreshold: 0.25, iouThreshold: 0.7 });
    expect(JSON.parse(meta[EXPORT_METADATA.classes]!)).toEqual([...DETECTION_CLASSES]);
    const pre = JSON.parse(meta[EXPORT_METADATA.preprocessing]!) as { mean: number; std: number };
    const batch = prepareBatch({ ...data.test, boxes: undefined }, { rows: [0, 1, 2, 3], augment: null, norm: pre, seed: 0, epoch: 0, position: 0 });
    const onnx = await ort.InferenceSession.create(bytes);
    const out = await onnx.run({ images: new ort.Tensor('float32', batch.images, [4, 1, DETECT_TEST_SIZE, DETECT_TEST_SIZE]) });
    const selected = out[DETECTION_OUTPUTS.selected]!.data as BigInt64Array;
    const found = new Set<string>();
    for (let k = 0; k < selected.length / 3; k++) found.add(`${selected[3 * k]}:${selected[3 * k + 1]}`);
    const t = data.test.boxes!;
    let hit = 0;
    let total = 0;
    for (let i = 0; i < 4; i++)
      for (let b = t.offsets[i]!; b < t.offsets[i + 1]!; b++) {
        total++;
        if (found.has(`${i}:${t.classes[b]}`)) hit++;
      }
    expect(hit / total).toBeGreaterThanOrEqual(0.75);
    await onnx.release();
  }, 600_000);
});
