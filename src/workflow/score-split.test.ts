import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NotFoundError, ValidationError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import type { ProgressEvent } from '../core/progress.js';
import { beginBuild } from '../data/datasets/repository.js';
import { type EvaluationFixture, FIXTURE_IMAGES, openEvaluationFixture, publishTinyVersion } from '../monitoring/evaluations/testing.js';
import { scoreSplit, type ScoreSplitDeps } from './score-split.js';

let f: EvaluationFixture;
let deps: ScoreSplitDeps;
beforeAll(async () => {
  f = await openEvaluationFixture();
  // batchSize 5 does not divide the split's 12 images: the last batch is a partial one.
  deps = { db: f.db, objects: f.objects, registry: f.registry, logger: silentLogger, batchSize: 5 };
});
afterAll(async () => {
  await f?.close();
});

describe('scoreSplit', () => {
  it('scores every image of the split (classes the model does not know included) with the probabilities serving gives', async () => {
    const events: ProgressEvent[] = [];
    const s = await scoreSplit(
      deps,
      { model: f.model, alias: 'production', datasetVersion: f.datasetVersion.slice(0, 10), split: 'test' },
      { onProgress: (e) => events.push(e) },
    );
    expect(s.model).toEqual({ name: 'brightness', version: 1, classes: ['lung-normal', 'lung-covid', 'oct-cnv'], temperature: 1.5 });
    expect(s.datasetVersion).toBe(f.datasetVersion);
    expect(s.split).toBe('test');
    expect(s.cases).toHaveLength(FIXTURE_IMAGES.filter((i) => i.split === 'test').length);
    expect(s.unknownToModel).toEqual([{ class: 'oct-dme', images: 2 }]);
    expect(events.map((e) => [e.phase, e.done, e.total])).toEqual([
      ['score', 5, 12],
      ['score', 10, 12],
      ['score', 12, 12],
    ]);

    // Keys are the manifest's sha256; probabilities equal the model's own predict (as serving computes them).
    const rows = await f.db
      .selectFrom('dataset_images')
      .select(['sha256', 'object_key', 'class'])
      .where('version_id', '=', f.datasetVersion)
      .where('split', '=', 'test')
      .orderBy('object_key')
      .execute();
    expect(s.cases.map((c) => [c.key, c.truth])).toEqual(rows.map((r) => [r.sha256, r.class]));
    const model = await f.registry.loadForInference(f.model, { version: 1 });
    try {
      const direct = await model.predictBatch(await Promise.all(rows.map((r) => f.objects.getBytes(r.object_key))));
      s.cases.forEach((c, i) => {
        expect(c.predictions.map((p) => p.class)).toEqual(direct[i]!.classes.map((p) => p.class));
        c.predictions.forEach((p, j) => expect(p.probability).toBeCloseTo(direct[i]!.classes[j]!.probability, 6));
      });
    } finally {
      await model.close();
    }
    // The brightness classifier: a dark image is lung-normal, a bright one oct-cnv.
    const dark = s.cases[rows.findIndex((r) => r.class === 'lung-normal')]!;
    expect(dark.predictions[0]!.class).toBe('lung-normal');
  });

  it('names what is wrong: unknown model, version, alias, dataset version, split; a version not ready; an empty split', async () => {
    const fails = async (target: object, cls: new (...a: never[]) => Error, msg: RegExp) => {
      const err = await scoreSplit(deps, { model: f.model, datasetVersion: f.datasetVersion, split: 'val', ...target } as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).message).toMatch(msg);
    };
    await fails({ model: 'nope' }, NotFoundError, /model 'nope' was not found/);
    await fails({ version: 7 }, NotFoundError, /brightness v7/);
    await fails({ alias: 'canary' }, NotFoundError, /brightness@canary/);
    await fails({ datasetVersion: 'ds-ffff' }, NotFoundError, /dataset version 'ds-ffff'/);
    await fails({ split: 'holdout' }, ValidationError, /split must be one of train, val, test, final_eval/);
    await beginBuild(f.db, { id: 'ds-00000000000000000041', name: null, inputs: {}, now: new Date().toISOString() });
    await fails({ datasetVersion: 'ds-00000000000000000041' }, ValidationError, /is building, not ready/);
    const trainOnly = await publishTinyVersion(
      f.db,
      f.objects,
      FIXTURE_IMAGES.filter((i) => i.split === 'train'),
      'ds-00000000000000000042',
    );
    await fails({ datasetVersion: trainOnly }, ValidationError, /split 'val' of ds-00000000000000000042 has no images/);
  });
});
