// The detector through the one trainer the classifier uses: a det-nano run interrupted mid-epoch and continued from
// its checkpoint ends exactly where the uninterrupted run ends; and on a version built by the real ETL from
// `data synth --task detect`, `startTraining({ task: 'detect' })` reads the fused boxes, records the run and exports
// the model with what a server needs in its metadata. (The registry does not take detectors yet: its output check
// wants [batch, classes].) That det-nano learns a box task through this trainer, and that its export's NMS finds
// the objects, is the integration tier's detect-learning.integration.test.ts (ten epochs, about a minute).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeCheckpoint, decodeModel, EXPORT_METADATA } from '../engine/index.js';
import { ARTIFACTS, startTraining } from './index.js';
import { readCheckpointConfig } from './state.js';
import { boxSets, buildSyntheticDetectionVersion, DETECT_TEST_SIZE, detectTestPlan, openTrainingFixture, type TrainingFixture } from './testing.js';
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
  it('continues an interrupted run from its checkpoint to exactly the uninterrupted result', async () => {
    // 48 training images in batches of 8: 6 steps an epoch, 12 in the run; checkpoints every 3 steps and at epoch ends.
    const data = boxSets({ count: { train: 48, val: 16, test: 16 }, size: DETECT_TEST_SIZE, seed: 2 });
    const short = {
      epochs: 2,
      batchSize: 8,
      lr: 4e-3,
      warmupEpochs: 1,
      patience: 0,
      cropMinScale: 0.8,
      seed: 3,
      evalBatchSize: 32,
      logEvery: 2,
      checkpointEvery: 3,
    };
    const whole = await trainRun(deps(), await fx.tracker.startRun({ experiment: 'detect-resume-test', params: {} }), detectTestPlan(short), data);
    const controller = new AbortController();
    let steps = 0;
    const cutRun = await fx.tracker.startRun({ experiment: 'detect-resume-test', params: {} });
    const cut = await trainRun(
      {
        ...deps(),
        signal: controller.signal,
        // Abort mid-epoch 2 (after its second batch), between the regular checkpoints of steps 6 and 9: the interruption
        // checkpoints there, and the resumed run continues from the middle of the epoch.
        onProgress: (p) => {
          if (p.phase.startsWith('epoch') && ++steps === 8) controller.abort();
        },
      },
      cutRun,
      detectTestPlan(short),
      data,
    );
    expect(cut.status).toBe('killed');
    const ck = decodeCheckpoint(await fx.tracker.getArtifact(cutRun.id, ARTIFACTS.last));
    expect([ck.step, readCheckpointConfig(ck.config, 'last').progress.batch]).toEqual([8, 2]);
    const resumed = await trainRun(deps(), await fx.tracker.resumeRun(cutRun.id), detectTestPlan(short), data);
    expect(resumed.status).toBe('finished');
    expect(whole.detection!.training.steps).toBe(12);
    expect(resumed.detection!.training.steps).toBe(12);
    expect(resumed.detection!.val.map50).toBeCloseTo(whole.detection!.val.map50!, 6);
    expect(resumed.detection!.test!.mapCoco).toBeCloseTo(whole.detection!.test!.mapCoco!, 6);
    const losses = async (id: string) => (await fx.tracker.metrics(id, 'train/loss')).map((p) => [p.step, p.value.toFixed(5)]);
    expect(await losses(cutRun.id)).toEqual(await losses(whole.run.id));
  }, 600_000);

  it('trains on a detection version built by the ETL (fused boxes through the letterbox) and exports it with its metadata', async () => {
    const version = await buildSyntheticDetectionVersion(fx, { images: 40, size: 96 });
    const r = await startTraining(deps(), { task: 'detect', dataset: version, size: DETECT_TEST_SIZE, epochs: 1, batchSize: 8, experiment: 'detect-etl-test' });
    expect(r.status).toBe('finished');
    const m = r.detection!;
    expect(r.run.params).toMatchObject({ task: 'detect', model: 'det-nano', size: DETECT_TEST_SIZE, weightDecay: 5e-4 });
    expect(m.data.boxes.train).toBeGreaterThan(0);
    expect(m.val.truthBoxes).toBe(m.data.boxes.val);
    expect(m.model).toMatchObject({ name: 'det-nano', imageSize: DETECT_TEST_SIZE, numClasses: 14 });
    const meta = decodeModel(await fx.tracker.getArtifact(r.run.id, ARTIFACTS.model)).metadata;
    expect(JSON.parse(meta[EXPORT_METADATA.preprocessing]!)).toMatchObject({ size: DETECT_TEST_SIZE, channels: 1, scale: 1 / 255 });
    expect(JSON.parse(meta[EXPORT_METADATA.input]!)).toEqual([{ name: 'images', dtype: 'float32', shape: ['batch', 1, DETECT_TEST_SIZE, DETECT_TEST_SIZE] }]);
  }, 600_000);
});
