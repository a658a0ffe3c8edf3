// The small-data regularizers in the trainer: --drop-path, --mixup, --cutmix and --layer-decay are parsed and
// range-checked, off in every recipe, refused for a CNN where they shape a ViT only, recorded in the run, and a
// run using all four resumes from an interruption to the very weights of the uninterrupted run (the drop-path
// noise comes from the session's checkpointed RNG, the mix from the batch's position in the epoch).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeCheckpoint } from '../engine/index.js';
import type { ViTConfig } from '../models/vit.js';
import { ARTIFACTS, resumeTraining, startTraining } from './index.js';
import { MODEL_RECIPES, parseTrainOptions } from './options.js';
import { planRun } from './plan.js';
import { interruptedRun, openTrainingFixture, type TrainingFixture } from './testing.js';

let fx: TrainingFixture;
beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 12, imageSize: 48 });
});
afterAll(async () => {
  await fx?.close();
});

const deps = () => ({ db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir });
const ALL = { dropPath: 0.2, mixup: 0.4, cutmix: 1, layerDecay: 0.75 } as const;

describe('regularization options', () => {
  it('default to off and are range-checked', () => {
    expect(parseTrainOptions({ dataset: 'ds-x' })).toMatchObject({ dropPath: 0, mixup: 0, cutmix: 0, layerDecay: 1 });
    expect(parseTrainOptions({ dataset: 'ds-x', ...ALL })).toMatchObject(ALL);
    for (const bad of [{ dropPath: 1 }, { mixup: -0.1 }, { cutmix: Number.NaN }, { layerDecay: 0 }, { layerDecay: 1.1 }]) {
      expect(() => parseTrainOptions({ dataset: 'ds-x', ...bad }), JSON.stringify(bad)).toThrow(/invalid training options/);
    }
  });

  it('no recipe turns them on; a ViT records --drop-path in its config; a CNN refuses the ViT-only ones', async () => {
    for (const r of Object.values(MODEL_RECIPES)) expect(Object.keys(r)).not.toEqual(expect.arrayContaining(['dropPath', 'mixup', 'cutmix', 'layerDecay']));
    const plain = await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small' }));
    expect((plain.model as ViTConfig).dropPath).toBeUndefined();
    expect(plain.options).toMatchObject({ dropPath: 0, mixup: 0, cutmix: 0, layerDecay: 1 });
    const plan = await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small', ...ALL }));
    expect((plan.model as ViTConfig).dropPath).toBe(0.2);
    await expect(planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'cnn-small', dropPath: 0.1, layerDecay: 0.8 }))).rejects.toThrow(
      /--drop-path, --layer-decay: ViT options, and cnn-small is a CNN/,
    );
    // Mixup and cutmix act on the batch and the loss: any model takes them.
    expect((await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'cnn-small', mixup: 0.2, cutmix: 1 }))).options).toMatchObject({
      mixup: 0.2,
      cutmix: 1,
    });
  });
});

describe('a run with all four', () => {
  it('trains, records them, and resumes an interrupted run to the same weights', async () => {
    const opts = { dataset: fx.versionId, model: 'vit-tiny', epochs: 2, batchSize: 16, lr: 2e-3, labelSmoothing: 0.1, seed: 4, ...ALL } as const;
    const whole = await startTraining(deps(), { ...opts, name: 'reg-whole' });
    expect(whole.status).toBe('finished');
    expect(whole.run.params).toMatchObject(ALL);
    expect((whole.run.params.model_config as ViTConfig).dropPath).toBe(0.2);
    expect(Number.isFinite(whole.metrics!.test!.accuracy)).toBe(true);
    const steps = whole.metrics!.training.steps;

    const cut = await interruptedRun(deps(), { ...opts, name: 'reg-cut' }, Math.round(steps / 2) + 1);
    expect(cut.status).toBe('killed');
    const resumed = await resumeTraining(deps(), cut.run.id);
    expect(resumed.status).toBe('finished');
    const a = decodeCheckpoint(await fx.tracker.getArtifact(whole.run.id, ARTIFACTS.last)).tensors;
    const b = decodeCheckpoint(await fx.tracker.getArtifact(cut.run.id, ARTIFACTS.last)).tensors;
    for (const name of ['head.weight', 'stem.0.conv.weight', 'blocks.1.mlp.fc1.weight']) {
      const x = a.get(name)!.data as Float32Array;
      const y = b.get(name)!.data as Float32Array;
      expect(Math.max(...x.map((v, i) => Math.abs(v - y[i]!))), name).toBeLessThan(1e-6);
    }
  }, 300_000);
});
