// The CNN family through the same trainer as the ViT: on a dataset version built by the real ETL a run
// interrupted mid-way and resumed from its checkpoint ends where the uninterrupted run ends, and the registry
// accepts the exported model with its CNN config in the metadata. (That cnn-tiny learns phantoms well above
// chance, with an export that agrees, is proven in learning.integration.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SECONDREAD_CLASSES } from '../data/classes.js';
import { decodeModel, EXPORT_METADATA } from '../engine/index.js';
import { ModelRegistry } from '../tracking/index.js';
import { ARTIFACTS, resumeTraining, startTraining } from './index.js';
import { interruptedRun, openTrainingFixture, type TrainingFixture } from './testing.js';

let fx: TrainingFixture;
beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 16, imageSize: 64 });
});
afterAll(async () => {
  await fx?.close();
});

const deps = () => ({ db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir, registry: new ModelRegistry(fx.db, fx.objects, fx.tracker) });

describe('cnn-tiny in the trainer', () => {
  it('resumes an interrupted run to the same result, and registers its export with the CNN config', async () => {
    const opts = { dataset: fx.versionId, model: 'cnn-tiny', epochs: 2, batchSize: 16, lr: 2e-3, logEvery: 2, seed: 5, experiment: 'cnn-test' };
    const whole = await startTraining(deps(), { ...opts, name: 'cnn-whole' });
    expect(whole.status).toBe('finished');
    expect(whole.run.params).toMatchObject({ model: 'cnn-tiny', size: 32 });
    expect(whole.run.params.model_config).toMatchObject({ family: 'cnn', name: 'cnn-tiny', widths: [16, 32, 64] });
    const steps = whole.metrics!.training.steps;

    const cut = await interruptedRun(deps(), { ...opts, name: 'cnn-cut' }, Math.round(steps / 2));
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
