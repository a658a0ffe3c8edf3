// planRun turns options into the model config a run records (and resumes and exports from): architecture
// overrides land in model_config, and a retrained model cannot change its architecture.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cnnConfig } from '../models/cnn.js';
import type { ViTConfig } from '../models/vit.js';
import { parseTrainOptions } from './options.js';
import { planRun } from './plan.js';
import type { TrainedModelConfig } from './state.js';
import { openTrainingFixture, type TrainingFixture } from './testing.js';

let fx: TrainingFixture;
const vit = (m: TrainedModelConfig): ViTConfig => m as ViTConfig;
beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 2, imageSize: 40 });
});
afterAll(async () => {
  await fx?.close();
});

describe('planRun', () => {
  it('records --patch-size and --size in the model config, other fields from the named config', async () => {
    const plan = await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small', patchSize: 4 }));
    expect(plan.model).toMatchObject({ name: 'vit-small', imageSize: 64, patchSize: 4, stemStrides: [2, 2, 1], dim: 192 });
    expect(vit((await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-tiny' }))).model).patchSize).toBe(2);
  });

  it("fills what is not given from the model's measured recipe; given options win", async () => {
    const small = await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small' }));
    expect(small.model).toMatchObject({ stemStrides: [1, 2, 2, 2, 2], stemChannels: [16, 32, 64, 128, 192], patchSize: 1, dropout: 0 });
    expect(small.options).toMatchObject({ epochs: 40, batchSize: 64, lr: 1e-3, warmupEpochs: 3, patience: 15, labelSmoothing: 0.1, sharpShare: 0.3 });
    expect(small.options).toMatchObject({ cropMinScale: 0.9, rotateDegrees: 5, brightness: 0.1, contrast: 0.1, emaDecay: 0 });
    // The default model is vit-small, with its recipe.
    expect((await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId }))).options).toMatchObject({ model: 'vit-small', sharpShare: 0.3 });

    const given = await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small', sharpShare: 0, epochs: 5, dropout: 0.2, lr: 5e-4 }));
    expect(given.options).toMatchObject({ sharpShare: 0, epochs: 5, lr: 5e-4, batchSize: 64 });
    expect(vit(given.model).dropout).toBe(0.2);

    const tiny = await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-tiny' }));
    expect(tiny.options).toMatchObject({ epochs: 30, batchSize: 32, warmupEpochs: 1, patience: 5, labelSmoothing: 0, sharpShare: 0, cropMinScale: 0.75 });
    expect(tiny.model).toMatchObject({ stemStrides: [2, 2, 1], dropout: 0.1 });

    // Under a time budget the epochs stay open unless given.
    expect((await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, timeBudget: 10 }))).options.epochs).toBeUndefined();
    expect((await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, timeBudget: 10, epochs: 3 }))).options.epochs).toBe(3);
  });

  it('records --stem-strides and --stem-channels in the model config', async () => {
    const plan = await planRun(
      fx.db,
      parseTrainOptions({ dataset: fx.versionId, model: 'vit-small', patchSize: 4, stemStrides: [1, 2, 2], stemChannels: [16, 64, 128] }),
    );
    expect(plan.model).toMatchObject({ name: 'vit-small', stemStrides: [1, 2, 2], stemChannels: [16, 64, 128], patchSize: 4 });
    await expect(planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small', stemStrides: [1, 2] }))).rejects.toThrow(
      /stemChannels and stemStrides must be non-empty and of equal length/,
    );
    await expect(planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small', stemStrides: [3, 2, 1] }))).rejects.toThrow(
      /not divisible by stem stride × patch size = 12/,
    );
  });

  it('records --pool in the model config; an unknown pooling is a validation error', async () => {
    expect(vit((await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, pool: 'mean' }))).model).pool).toBe('mean');
    expect(vit((await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId }))).model).pool).toBeUndefined();
    expect(() => parseTrainOptions({ dataset: fx.versionId, pool: 'max' })).toThrow(/invalid training options: pool/);
  });

  it('refuses a patch size the input side does not divide, naming both', async () => {
    await expect(planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small', patchSize: 3 }))).rejects.toThrow(
      /imageSize 64 is not divisible by stem stride × patch size = 12/,
    );
  });

  it("keeps a base model's patch size when retraining", async () => {
    const base = {
      ref: 'm@production',
      name: 'm',
      version: 1,
      runId: 'r',
      datasetVersion: fx.versionId,
      config: { model: { ...(await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small', patchSize: 2 }))).model } },
    };
    await expect(planRun(fx.db, parseTrainOptions({ fromModel: 'm@production', patchSize: 4 }), base as never)).rejects.toThrow(
      /--patch-size 4 differs from the base model's patch size 2/,
    );
    await expect(planRun(fx.db, parseTrainOptions({ fromModel: 'm@production', stemStrides: [1, 2, 2] }), base as never)).rejects.toThrow(
      /--stem-strides 1,2,2 differs from the base model's stem strides 2,2,1/,
    );
    expect(vit((await planRun(fx.db, parseTrainOptions({ fromModel: 'm@production', stemStrides: [2, 2, 1] }), base as never)).model).stemStrides).toEqual([
      2, 2, 1,
    ]);
    await expect(planRun(fx.db, parseTrainOptions({ fromModel: 'm@production', pool: 'mean' }), base as never)).rejects.toThrow(
      /--pool mean differs from the base model's pooling cls/,
    );
    expect(vit((await planRun(fx.db, parseTrainOptions({ fromModel: 'm@production', pool: 'cls' }), base as never)).model).pool).toBe('cls');
    // The recipe's training options apply to a retrained model, its architecture does not.
    const retrain = await planRun(fx.db, parseTrainOptions({ fromModel: 'm@production' }), base as never);
    expect(retrain.model).toMatchObject({ stemStrides: [2, 2, 1], patchSize: 2 });
    expect(retrain.options).toMatchObject({ sharpShare: 0.3, batchSize: 64 });
  });

  it('plans a CNN from its preset with --size and --dropout; ViT-only flags are refused, also when retraining a CNN', async () => {
    const plan = await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'cnn-small', size: 64, dropout: 0.1 }));
    expect(plan.model).toMatchObject({ family: 'cnn', name: 'cnn-small', imageSize: 64, dropout: 0.1, widths: [32, 64, 128] });
    expect(plan.options).toMatchObject({ model: 'cnn-small', size: 64 });
    // cnn-small's own recipe (the config's dropout, given here as 0.1, is not the recipe's); cnn-tiny trains with the generic one.
    expect(plan.options).toMatchObject({ epochs: 35, batchSize: 64, lr: 2e-3, warmupEpochs: 2, labelSmoothing: 0.05, patience: 0, sharpShare: 0.3 });
    // Without --size a fresh cnn-small takes its recipe's 48×48 (the preset says 64); cnn-tiny keeps its preset's size.
    const plain = await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'cnn-small' }));
    expect(plain.model).toMatchObject({ imageSize: 48, dropout: 0.2 });
    expect(plain.options.size).toBe(48);
    const tiny = await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'cnn-tiny' }));
    expect(tiny.model.imageSize).toBe(cnnConfig('cnn-tiny').imageSize);
    expect(tiny.options).toMatchObject({ epochs: 30, sharpShare: 0 });
    await expect(planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'cnn-small', patchSize: 4, pool: 'mean' }))).rejects.toThrow(
      /--patch-size, --pool: ViT options, and cnn-small is a CNN/,
    );
    await expect(planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'cnn-small', size: 60 }))).rejects.toThrow(
      /imageSize 60 is not divisible by the product of the strides \(8\)/,
    );
    const base = { ref: 'c@production', name: 'c', version: 1, runId: 'r', datasetVersion: fx.versionId, config: { model: plan.model } };
    expect((await planRun(fx.db, parseTrainOptions({ fromModel: 'c@production' }), base as never)).model).toEqual(plan.model);
    await expect(planRun(fx.db, parseTrainOptions({ fromModel: 'c@production', stemStrides: [1, 2, 2] }), base as never)).rejects.toThrow(
      /--stem-strides: ViT options, and cnn-small is a CNN/,
    );
    await expect(planRun(fx.db, parseTrainOptions({ fromModel: 'c@production', model: 'vit-small' }), base as never)).rejects.toThrow(
      /--model vit-small differs from the base model's architecture cnn-small/,
    );
  });
});
