import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NotFoundError, ValidationError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { beginBuild } from '../../data/datasets/repository.js';
import { createInProcessQueue } from '../../jobs/in-process.js';
import { gate, waitFor, waitForJob } from '../../jobs/testing.js';
import type { JobQueue } from '../../jobs/types.js';
import { expectedCalibrationError, oneVsRestAuc } from '../../training/metrics/index.js';
import { createEvaluationService } from './service.js';
import { BRIGHTNESS_CLASSES, brightnessClassifierOnnx, brightnessMeta, type EvaluationFixture, FIXTURE_IMAGES, openEvaluationFixture } from './testing.js';
import type { Evaluation, EvaluationService } from './types.js';

let f: EvaluationFixture;
let jobs: JobQueue;
let service: EvaluationService;
let results: Evaluation[];
beforeEach(async () => {
  f = await openEvaluationFixture();
  jobs = createInProcessQueue({ db: f.db, logger: silentLogger, pollMs: 20 });
  results = [];
  // batchSize 3 does not divide the 10 scored images: the last batch is a partial one.
  service = createEvaluationService({
    db: f.db,
    objects: f.objects,
    registry: f.registry,
    jobs,
    logger: silentLogger,
    batchSize: 3,
    onResult: (e) => void results.push(e),
  });
  service.registerHandler(jobs);
  await jobs.start();
});
afterEach(async () => {
  await jobs.close();
  await f.close();
});

async function finished(e: Evaluation): Promise<Evaluation> {
  await waitForJob(jobs, e.jobId, 20_000);
  return (await service.get(e.id))!;
}

describe('EvaluationService', () => {
  it('evaluates a model on a split: figures follow from the known predictions, stored and handed to onResult', async () => {
    const created = await service.create({ model: f.model, alias: 'production', datasetVersion: f.datasetVersion, split: 'test', createdBy: 'alice' });
    expect(created).toMatchObject({ model: 'brightness', version: 1, datasetVersion: f.datasetVersion, split: 'test', createdBy: 'alice', error: null });
    expect(created.id).toMatch(/^eval_/);
    const e = await finished(created);
    expect(e).toMatchObject({ status: 'succeeded', progress: 1, images: 10, accuracy: 0.8, error: null });
    const r = e.report!;
    expect(r.classes).toEqual([...BRIGHTNESS_CLASSES]);
    expect(r.excluded).toEqual([{ class: 'oct-dme', images: 2 }]);
    // Rows = truth: lung-normal 120 and oct-cnv 130 are predicted lung-covid.
    expect(r.confusion).toEqual([
      [3, 1, 0],
      [0, 3, 0],
      [0, 1, 2],
    ]);
    const byClass = Object.fromEntries(r.perClass.map((c) => [c.class, c]));
    expect(byClass['lung-normal']).toMatchObject({ precision: 1, recall: 0.75, support: 4 });
    expect(byClass['lung-covid']).toMatchObject({ precision: 0.6, recall: 1, support: 3 });
    expect(byClass['oct-cnv']).toMatchObject({ precision: 1, recall: 2 / 3, support: 3 });
    const f1 = [(2 * 0.75) / 1.75, (2 * 0.6) / 1.6, (2 * (2 / 3)) / (5 / 3)];
    expect(r.macroF1).toBeCloseTo((f1[0]! + f1[1]! + f1[2]!) / 3, 12);
    expect(e.macroF1).toBeCloseTo(r.macroF1!, 12);

    // AUC and ECE against the model's own predictions computed another way (predictBatch on the same files).
    const testImages = FIXTURE_IMAGES.filter((i) => i.split === 'test' && i.class !== 'oct-dme');
    const model = await f.registry.loadForInference(f.model, { version: 1 });
    try {
      const objects = await f.db
        .selectFrom('dataset_images')
        .select(['object_key', 'class', 'mean_intensity'])
        .where('version_id', '=', f.datasetVersion)
        .where('split', '=', 'test')
        .where('class', '!=', 'oct-dme')
        .orderBy('object_key')
        .execute();
      expect(objects).toHaveLength(testImages.length);
      const preds = await model.predictBatch(await Promise.all(objects.map((o) => f.objects.getBytes(o.object_key))));
      const probs = preds.flatMap((p) => BRIGHTNESS_CLASSES.map((c) => p.classes.find((x) => x.class === c)!.probability));
      const labels = objects.map((o) => BRIGHTNESS_CLASSES.indexOf(o.class as (typeof BRIGHTNESS_CLASSES)[number]));
      const auc = oneVsRestAuc(probs, labels, 3);
      r.perClass.forEach((c, i) => expect(c.auc).toBeCloseTo(auc[i]!, 6));
      // ECE of the calibrated probabilities (the fixture's temperature is 1.5, so this checks it was applied).
      expect(r.temperature).toBe(1.5);
      expect(r.ece).toBeCloseTo(expectedCalibrationError(probs, labels, 3).ece, 6);
      expect(r.eceUncalibrated).not.toBeCloseTo(r.ece, 3);
    } finally {
      await model.close();
    }

    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ id: e.id, status: 'succeeded', accuracy: 0.8, model: 'brightness', version: 1 });
    const job = await jobs.get(e.jobId);
    expect(job).toMatchObject({ kind: 'evaluation', status: 'succeeded', createdBy: 'alice', result: { evaluationId: e.id, images: 10, accuracy: 0.8 } });
  });

  it('final_eval = the flagged val ∪ test images; a dataset version prefix and a version number are accepted', async () => {
    const e = await finished(
      await service.create({ model: f.model, version: 1, datasetVersion: f.datasetVersion.slice(0, 8), split: 'final_eval', createdBy: 'bob' }),
    );
    expect(e).toMatchObject({ status: 'succeeded', datasetVersion: f.datasetVersion, split: 'final_eval', images: 4, accuracy: 1 });
    expect(e.report!.confusion).toEqual([
      [2, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect((await service.list()).map((x) => x.id)).toEqual([e.id]);
    expect(await service.list({ status: 'succeeded', model: 'brightness', datasetVersion: f.datasetVersion })).toHaveLength(1);
    expect(await service.list({ status: 'failed' })).toEqual([]);
    expect(await service.list({ model: 'other' })).toEqual([]);
    await expect(service.list({ limit: 0 })).rejects.toThrow(/limit/);
  });

  it('validates every part of the request before anything is queued', async () => {
    const base = { model: f.model, datasetVersion: f.datasetVersion, split: 'test', createdBy: 'a' };
    const rejects = async (input: object, cls: new (...args: never[]) => Error, msg: RegExp) => {
      const err = await service.create({ ...base, ...input } as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(cls);
      expect((err as Error).message).toMatch(msg);
    };
    await rejects({ split: 'holdout' }, ValidationError, /split must be one of train, val, test, final_eval/);
    await rejects({ split: '../../etc/passwd' }, ValidationError, /split must be one of/);
    await rejects({ version: 1, alias: 'production' }, ValidationError, /not both/);
    await rejects({ version: 0 }, ValidationError, /positive integer/);
    await rejects({ model: '../x' }, ValidationError, /name/);
    await rejects({ model: 'nope' }, NotFoundError, /nope/);
    await rejects({ version: 9 }, NotFoundError, /brightness v9/);
    await rejects({ alias: 'canary' }, NotFoundError, /brightness@canary/);
    await rejects({ alias: 'latest' }, ValidationError, /alias/);
    await rejects({ datasetVersion: 'ds-ffff' }, NotFoundError, /ds-ffff/);
    await rejects({ datasetVersion: '/tmp/raw' }, NotFoundError, /dataset version/);
    await rejects({ createdBy: '' }, ValidationError, /createdBy/);

    await beginBuild(f.db, { id: 'ds-00000000000000000001', name: null, inputs: {}, now: new Date().toISOString() });
    await rejects({ datasetVersion: 'ds-00000000000000000001' }, ValidationError, /building, not ready/);

    const other = await f.registry.importOnnxBytes({
      name: 'other-classes',
      bytes: brightnessClassifierOnnx(),
      meta: brightnessMeta(['oct-drusen', 'oct-normal', 'lung-opacity']),
      by: 't',
    });
    await rejects({ model: other.name, version: 1 }, ValidationError, /no images of the classes of other-classes v1/);

    expect(await f.db.selectFrom('jobs').select('id').execute()).toEqual([]);
    expect(await f.db.selectFrom('evaluations').select('id').execute()).toEqual([]);
    expect(await service.get('eval_nope')).toBeNull();
  });

  it('a job that cannot read an image fails the evaluation with {code, message}; onResult is not called', async () => {
    // Corrupt one image object (create validates the manifest, not the bytes): the job finds it undecodable.
    const key = (
      await f.db
        .selectFrom('dataset_images')
        .select('object_key')
        .where('version_id', '=', f.datasetVersion)
        .where('split', '=', 'val')
        .orderBy('object_key')
        .executeTakeFirstOrThrow()
    ).object_key;
    await f.objects.put(key, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    const e = await finished(await service.create({ model: f.model, version: 1, datasetVersion: f.datasetVersion, split: 'val', createdBy: 'c' }));
    expect(e.status).toBe('failed');
    expect(e.error).toMatchObject({ code: 'invalid_image' });
    expect(e.error!.message).not.toMatch(/\n\s+at /);
    expect(e).toMatchObject({ accuracy: null, report: null });
    const row = await f.db.selectFrom('evaluations').select(['status', 'finished_at']).where('id', '=', e.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    expect(row.finished_at).not.toBeNull();
    expect(results).toEqual([]);
  });

  it('an evaluation interrupted by a shutdown is handed back and completed by the next queue', async () => {
    await jobs.close(); // only `first` may take the job
    const hold = gate();
    // The first process reads images slowly (held until the test lets go), so it is mid-job when it closes.
    const slowObjects = Object.create(f.objects, {
      getBytes: { value: async (key: string) => (await hold.promise, f.objects.getBytes(key)) },
    }) as typeof f.objects;
    const first = createInProcessQueue({ db: f.db, logger: silentLogger, pollMs: 20, shutdownGraceMs: 50 });
    const firstService = createEvaluationService({ db: f.db, objects: slowObjects, registry: f.registry, jobs: first, logger: silentLogger });
    firstService.registerHandler(first);
    await first.start();
    const created = await firstService.create({ model: f.model, version: 1, datasetVersion: f.datasetVersion, split: 'test', createdBy: 'd' });
    await waitFor(async () => ((await firstService.get(created.id))?.status === 'running' ? true : undefined));
    const closing = first.close();
    setTimeout(() => hold.open(), 100);
    await closing;
    expect(await service.get(created.id)).toMatchObject({ status: 'queued', accuracy: null });
    const row = await f.db.selectFrom('evaluations').select(['status', 'finished_at']).where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'queued', finished_at: null });
    // The next process (normal object store) picks the job up again; the handed-back attempt did not count.
    jobs = createInProcessQueue({ db: f.db, logger: silentLogger, pollMs: 20 });
    service.registerHandler(jobs);
    await jobs.start();
    expect(await finished(created)).toMatchObject({ status: 'succeeded', accuracy: 0.8 });
    expect(await jobs.get(created.jobId)).toMatchObject({ attempts: 1 });
  });
});
