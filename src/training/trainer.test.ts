// The trainer end to end on a dataset version built by the real ETL from synthetic phantom archives: a tracked
// run with its params, per-step and per-epoch metrics, checkpoints, metrics.json, charts and an exported ONNX
// whose metadata the registry accepts; then retraining that registered model as a child run with lineage.
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SECONDREAD_CLASSES } from '../data/classes.js';
import { decodeCheckpoint, decodeModel, EXPORT_METADATA } from '../engine/index.js';
import { ModelRegistry } from '../tracking/index.js';
import { ARTIFACTS, type FinalMetrics, resumeTraining, startTraining, TRAINER_METADATA } from './index.js';
import { readCheckpointConfig } from './state.js';
import { buildSyntheticVersion, interruptedRun, openTrainingFixture, type TrainingFixture } from './testing.js';

let fx: TrainingFixture;
beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 16, imageSize: 64 });
});
afterAll(async () => {
  await fx?.close();
});

const deps = () => ({ db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir, registry: new ModelRegistry(fx.db, fx.objects, fx.tracker) });
const TINY = { model: 'vit-tiny', epochs: 2, batchSize: 16, lr: 2e-3, logEvery: 2, experiment: 'trainer-test' } as const;

describe('startTraining on a built dataset version', () => {
  let runId = '';
  let metrics: FinalMetrics;

  it('records a finished run with params, metrics, checkpoints and artifacts', async () => {
    const r = await startTraining(deps(), { ...TINY, dataset: fx.versionId.slice(0, 8), name: 'tiny' });
    runId = r.run.id;
    metrics = r.metrics!;
    expect(r.status).toBe('finished');
    expect(r.run).toMatchObject({ status: 'finished', name: 'tiny', datasetVersion: fx.versionId, parentRunId: null });
    expect(r.run.params).toMatchObject({ dataset: fx.versionId, model: 'vit-tiny', size: 32, epochs: 2, balance: 'weights', hflip: false });
    expect((r.run.params.model_config as { imageSize: number }).imageSize).toBe(32);
    expect(r.run.summary).toMatchObject({ epochs: 2, test_accuracy: metrics.test!.accuracy, temperature: metrics.calibration.temperature });

    const names = (await fx.tracker.listArtifacts(runId)).map((a) => a.name).sort();
    expect(names).toEqual([ARTIFACTS.best, ARTIFACTS.last, ARTIFACTS.confusion, ARTIFACTS.curves, ARTIFACTS.metrics, ARTIFACTS.model].sort());
    for (const png of [ARTIFACTS.confusion, ARTIFACTS.curves]) expect((await fx.tracker.getArtifact(runId, png)).subarray(1, 4).toString()).toBe('PNG');

    // Per-step train metrics every logEvery steps, per-epoch val metrics once per epoch.
    const steps = metrics.training.steps;
    const perEpoch = steps / 2;
    expect((await fx.tracker.metrics(runId, 'train/loss')).map((p) => p.step)).toEqual(Array.from({ length: Math.floor(steps / 2) }, (_, i) => 2 * (i + 1)));
    expect((await fx.tracker.metrics(runId, 'val/loss')).map((p) => [p.epoch, p.step])).toEqual([
      [1, perEpoch],
      [2, steps],
    ]);
    expect((await fx.tracker.metrics(runId, 'test/accuracy'))[0]!.value).toBe(metrics.test!.accuracy);

    const last = decodeCheckpoint(await fx.tracker.getArtifact(runId, ARTIFACTS.last));
    expect(last.step).toBe(steps);
    expect(readCheckpointConfig(last.config, 'last').progress).toMatchObject({ epoch: 2, batch: 0 });
  });

  it('evaluates val (not final_eval) for selection, and test and final_eval apart', async () => {
    const json = JSON.parse((await fx.tracker.getArtifact(runId, ARTIFACTS.metrics)).toString('utf8')) as FinalMetrics;
    expect(json.val.count).toBe(metrics.data.val.reduce((a, b) => a + b, 0));
    expect(json.test!.confusion.flat().reduce((a, b) => a + b, 0)).toBe(json.test!.count);
    expect(json.finalEval!.count).toBeGreaterThan(0);
    expect(json.val.perClass.map((c) => c.class)).toEqual([...SECONDREAD_CLASSES]);
    expect(json.calibration.nllAfter).toBeLessThanOrEqual(json.calibration.nllBefore + 1e-12);
  });

  it('exports an ONNX model with classes, input spec, preprocessing and temperature that the registry accepts', async () => {
    const bytes = await fx.tracker.getArtifact(runId, ARTIFACTS.model);
    const meta = decodeModel(bytes).metadata;
    expect(JSON.parse(meta[EXPORT_METADATA.classes]!)).toEqual([...SECONDREAD_CLASSES]);
    expect(JSON.parse(meta[EXPORT_METADATA.input]!)).toEqual([{ name: 'images', dtype: 'float32', shape: ['batch', 1, 32, 32] }]);
    expect(JSON.parse(meta[EXPORT_METADATA.preprocessing]!)).toMatchObject({ size: 32, channels: 1, scale: 1 / 255 });
    expect(JSON.parse(meta[TRAINER_METADATA.temperature]!)).toBe(metrics.calibration.temperature);
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ images: new ort.Tensor('float32', new Float32Array(2 * 32 * 32), [2, 1, 32, 32]) });
    expect(out.logits!.dims).toEqual([2, 9]);
    await session.release();

    const mv = await deps().registry.register({ runId, name: 'tiny-cxr-oct', by: 'test' });
    expect(mv.metadata.temperature).toBe(metrics.calibration.temperature);
  });

  it('retrains the registered model as a child run, moving half the base final_eval images into training', async () => {
    const r = await startTraining(deps(), { fromModel: 'tiny-cxr-oct:1', addFinalEvalFraction: 0.5, epochs: 1, batchSize: 16, experiment: 'trainer-test' });
    expect(r.status).toBe('finished');
    expect(r.run.parentRunId).toBe(runId);
    expect(r.run.params).toMatchObject({
      model: 'vit-tiny',
      dataset: fx.versionId,
      lineage: { from_model: 'tiny-cxr-oct:1', base_run: runId, base_version: 1, add_final_eval_fraction: 0.5 },
    });
    const m = r.metrics!;
    const baseFinal = metrics.finalEval!.count;
    expect(m.data.addedFinalEval).toBeGreaterThan(0);
    expect(m.data.addedFinalEval).toBeLessThanOrEqual(Math.ceil(baseFinal / 2) + SECONDREAD_CLASSES.length);
    // Moved images train the child, so they leave its evaluation sets.
    expect(m.finalEval!.count).toBe(baseFinal - m.data.addedFinalEval);
    expect(m.data.train.reduce((a, b) => a + b, 0)).toBe(metrics.data.train.reduce((a, b) => a + b, 0) + m.data.addedFinalEval);
  });

  it('retrains on another dataset version: base train ∪ new train, evaluated on the new version', async () => {
    const v2 = await buildSyntheticVersion(fx, { perClass: 6, imageSize: 64, seed: 7 });
    const r = await startTraining(deps(), { fromModel: 'tiny-cxr-oct', dataset: v2.slice(0, 10), epochs: 1, batchSize: 16, experiment: 'trainer-test' });
    expect(r.run).toMatchObject({ status: 'finished', datasetVersion: v2, parentRunId: runId });
    expect(r.run.params).toMatchObject({ dataset: v2, lineage: { base_dataset: fx.versionId, base_run: runId } });
    const m = r.metrics!;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const v2Counts = (await fx.db.selectFrom('dataset_images').select(['split']).where('version_id', '=', v2).execute()).reduce<Record<string, number>>(
      (acc, row) => ({ ...acc, [row.split]: (acc[row.split] ?? 0) + 1 }),
      {},
    );
    expect(sum(m.data.train)).toBe(sum(metrics.data.train) + v2Counts.train!);
    expect(m.test!.count).toBe(v2Counts.test);
  });

  it('with --ema-decay validates, keeps and tests the weight average, and a resumed run continues the same average', async () => {
    const opts = { ...TINY, dataset: fx.versionId, emaDecay: 0.9, epochs: 3, seed: 5 };
    const whole = await startTraining(deps(), { ...opts, name: 'ema-whole' });
    const wholeLast = decodeCheckpoint(await fx.tracker.getArtifact(whole.run.id, ARTIFACTS.last));
    const steps = whole.metrics!.training.steps;
    // The average sits beside the session state in the last checkpoint, one entry per parameter and buffer.
    const averaged = [...wholeLast.tensors.keys()].filter((k) => k.startsWith('ema.') && k !== 'ema.updates');
    expect(averaged.length).toBeGreaterThan(10);
    expect(wholeLast.tensors.get('ema.updates')!.data[0]).toBe(steps);
    const some = averaged.find((k) => k.endsWith('head.weight'))!;
    const own = wholeLast.tensors.get(some.slice(4))!.data as Float32Array;
    const avg = wholeLast.tensors.get(some)!.data as Float32Array;
    expect(Math.max(...own.map((v, i) => Math.abs(v - avg[i]!)))).toBeGreaterThan(1e-4); // a real average, not a copy
    if (whole.metrics!.bestEpoch === 3) {
      const best = decodeCheckpoint(await fx.tracker.getArtifact(whole.run.id, ARTIFACTS.best));
      expect(best.tensors.get(some.slice(4))!.data).toEqual(avg);
    }

    // The same run, interrupted mid-way through epoch 2 and resumed, ends with the same average.
    const cut = await interruptedRun(deps(), { ...opts, name: 'ema-cut' }, Math.round(steps / 2));
    expect(cut.status).toBe('killed');
    const resumed = await resumeTraining(deps(), cut.run.id);
    expect(resumed.status).toBe('finished');
    const resumedLast = decodeCheckpoint(await fx.tracker.getArtifact(cut.run.id, ARTIFACTS.last));
    expect(resumedLast.tensors.get('ema.updates')!.data[0]).toBe(steps);
    const again = resumedLast.tensors.get(some)!.data as Float32Array;
    expect(Math.max(...again.map((v, i) => Math.abs(v - avg[i]!)))).toBeLessThan(1e-4);
    expect(resumed.metrics!.test!.accuracy).toBeCloseTo(whole.metrics!.test!.accuracy, 6);
  }, 60_000);

  it('refuses to resume a finished run, and reports bad options as validation errors', async () => {
    await expect(resumeTraining(deps(), runId)).rejects.toThrow(/already finished/);
    await expect(startTraining(deps(), { ...TINY })).rejects.toThrow(/dataset version is required/);
    await expect(startTraining(deps(), { ...TINY, dataset: fx.versionId, epochs: 0 })).rejects.toThrow(/epochs/);
    await expect(startTraining(deps(), { ...TINY, dataset: 'ds-nope' })).rejects.toThrow(/not found|no dataset version/);
    await expect(startTraining(deps(), { ...TINY, dataset: fx.versionId, addFinalEvalFraction: 0.5 })).rejects.toThrow(/needs --from-model/);
  });
});
