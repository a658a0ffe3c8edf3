// planRun turns options into the model config a run records (and resumes and exports from): architecture
// overrides land in model_config, and a retrained model cannot change its architecture.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseTrainOptions } from './options.js';
import { planRun } from './plan.js';
import { openTrainingFixture, type TrainingFixture } from './testing.js';

let fx: TrainingFixture;
beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 2, imageSize: 40 });
});
afterAll(async () => {
  await fx?.close();
});

describe('planRun', () => {
  it('records --patch-size and --size in the model config, other fields from the named config', async () => {
    const plan = await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small', patchSize: 4 }));
    expect(plan.model).toMatchObject({ name: 'vit-small', imageSize: 64, patchSize: 4, dim: 192 });
    expect((await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small' }))).model.patchSize).toBe(2);
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
    expect((await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, pool: 'mean' }))).model.pool).toBe('mean');
    expect((await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId }))).model.pool).toBeUndefined();
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
      config: { model: { ...(await planRun(fx.db, parseTrainOptions({ dataset: fx.versionId, model: 'vit-small' }))).model } },
    };
    await expect(planRun(fx.db, parseTrainOptions({ fromModel: 'm@production', patchSize: 4 }), base as never)).rejects.toThrow(
      /--patch-size 4 differs from the base model's patch size 2/,
    );
    await expect(planRun(fx.db, parseTrainOptions({ fromModel: 'm@production', stemStrides: [1, 2, 2] }), base as never)).rejects.toThrow(
      /--stem-strides 1,2,2 differs from the base model's stem strides 2,2,1/,
    );
    expect((await planRun(fx.db, parseTrainOptions({ fromModel: 'm@production', stemStrides: [2, 2, 1] }), base as never)).model.stemStrides).toEqual([
      2, 2, 1,
    ]);
    await expect(planRun(fx.db, parseTrainOptions({ fromModel: 'm@production', pool: 'mean' }), base as never)).rejects.toThrow(
      /--pool mean differs from the base model's pooling cls/,
    );
    expect((await planRun(fx.db, parseTrainOptions({ fromModel: 'm@production', pool: 'cls' }), base as never)).model.pool).toBe('cls');
  });
});
