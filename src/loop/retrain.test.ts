// The retrain job for real, on a tiny model: a vit-tiny trained on a phantom dataset version is production; studies
// from another phantom version are adjudicated; the labels trigger enqueues a retrain that builds the feedback
// dataset (merged into the production model's version), trains a child run of the production run, registers the
// candidate and hands it on — without touching the production alias. Then, with the candidate promoted, a
// retrain has no new labels and is skipped without a run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import { listImages } from '../data/datasets/repository.js';
import { createInProcessQueue, type JobQueue } from '../jobs/index.js';
import { waitForJob } from '../jobs/testing.js';
import { ModelRegistry } from '../tracking/index.js';
import { startTraining } from '../training/index.js';
import { buildSyntheticVersion, openTrainingFixture, type TrainingFixture } from '../training/testing.js';
import { WorkflowService } from '../workflow/service.js';
import { FakeModelReader, modelRead } from '../workflow/testing.js';
import { UserStore } from '../workflow/users.js';
import { type Candidate, registerRetrainHandler, type RetrainResult } from './retrain.js';
import { RetrainTriggers } from './triggers.js';

let fx: TrainingFixture;
let registry: ModelRegistry;
let queue: JobQueue;
let prodRun = '';
const handedOff: Candidate[] = [];
const TRAIN = { model: 'vit-tiny', epochs: 1, batchSize: 16, lr: 2e-3, workers: 0 };

beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 8, imageSize: 40 });
  registry = new ModelRegistry(fx.db, fx.objects, fx.tracker);
  const base = await startTraining(
    { db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir },
    { ...TRAIN, dataset: fx.versionId, experiment: 'base' },
  );
  prodRun = base.run.id;
  await registry.register({ runId: prodRun, name: 'tiny', by: 'test' });
  await registry.setAlias('tiny', 'production', 1, { by: 'test', reason: 'fixture' });
  queue = createInProcessQueue({ db: fx.db, logger: silentLogger, pollMs: 50 });
  registerRetrainHandler(queue, {
    db: fx.db,
    objects: fx.objects,
    registry,
    tracker: fx.tracker,
    cacheDir: fx.cacheDir,
    handOff: async (c) => {
      handedOff.push(c);
      return { protocol: 'test', decision: 'recorded' };
    },
  });
  await queue.start();
}, 120_000);
afterAll(async () => {
  await queue?.close();
  await fx?.close();
});

/** Takes one image per class of a fresh phantom version in as dataset studies; A errs, B gives the truth. */
async function adjudicatedStream(): Promise<number> {
  const stream = await buildSyntheticVersion(fx, { perClass: 2, imageSize: 40, seed: 9 });
  const model = new FakeModelReader(modelRead('lung-normal', 0.6, { model: 'tiny', version: 1 }));
  const wf = new WorkflowService({ db: fx.db, objects: fx.objects, model, random: () => 0.5 });
  const users = new UserStore(fx.db);
  const admin = (await users.addUser({ name: 'admin', role: 'admin' })).user;
  const reader = (await users.addUser({ name: 'a', role: 'reader' })).user;
  const adjudicator = (await users.addUser({ name: 'b', role: 'adjudicator' })).user;
  const images = (await listImages(fx.db, stream)).filter((_, i) => i % 2 === 0);
  for (const img of images) {
    const modality = img.class.startsWith('oct') ? 'oct' : 'cxr';
    const s = await wf.intake(admin, {
      modality,
      image: await fx.objects.getBytes(img.objectKey),
      dataset: { version: stream, sha256: img.sha256, truthClass: img.class },
    });
    await wf.commitRead(reader, s.id, { label: modality === 'oct' ? 'oct-normal' : 'lung-normal' });
    if ((await wf.getStudy(admin, s.id)).status === 'awaiting_b') await wf.commitRead(adjudicator, s.id, { label: img.class });
  }
  return images.length;
}

describe('the retrain job', () => {
  it('N new labels → feedback dataset on the production version → child run → registered candidate, handed to rollout; production untouched', async () => {
    const n = await adjudicatedStream();
    const t = new RetrainTriggers(
      { db: fx.db, jobs: queue },
      { model: 'tiny', newLabels: n, onDrift: false, includeAutoFinalized: false, train: { ...TRAIN, seed: 3 } },
    );
    const [outcome] = await t.check();
    expect(outcome?.enqueued).toBe(true);
    const job = await waitForJob(queue, outcome!.job!.id, 240_000);
    expect(job.error).toBeNull();
    const r = job.result as Extract<RetrainResult, { status: 'trained' }>;
    expect(r).toMatchObject({ status: 'trained', trigger: 'labels', production: { version: 1, runId: prodRun }, candidate: { name: 'tiny', version: 2 } });
    expect(r.feedback).toMatchObject({ built: true, added: n });
    expect(r.run.parentRunId).toBe(prodRun);
    expect(r.rollout).toEqual({ protocol: 'test', decision: 'recorded' });
    expect(handedOff).toEqual([
      { name: 'tiny', version: 2, runId: r.run.id, parent: { version: 1, runId: prodRun }, datasetVersion: r.dataset, trigger: 'labels' },
    ]);

    // The feedback version is the production version's images plus the new labels; the candidate points at it.
    const baseRows = await listImages(fx.db, fx.versionId);
    expect((await listImages(fx.db, r.dataset)).length).toBe(baseRows.length + n);
    const v2 = await registry.resolve('tiny', { version: 2 });
    expect(v2).toMatchObject({ runId: r.run.id, datasetVersion: r.dataset });
    expect((await fx.tracker.getRun(r.run.id)).params).toMatchObject({ lineage: { from_model: 'tiny:1', base_run: prodRun }, seed: 3 });
    expect(await registry.aliases('tiny')).toEqual({ production: 1 });
  }, 300_000);

  it('with nothing new since the production model’s data, a retrain is skipped without a run', async () => {
    await registry.setAlias('tiny', 'production', 2, { by: 'test', reason: 'candidate accepted' });
    const runsBefore = (await fx.db.selectFrom('runs').select('id').execute()).length;
    const t = new RetrainTriggers({ db: fx.db, jobs: queue }, { model: 'tiny', onDrift: false, includeAutoFinalized: false, train: TRAIN });
    const job = await waitForJob(queue, (await t.manual('alice')).id, 60_000);
    expect(job.result).toMatchObject({
      status: 'skipped',
      trigger: 'manual',
      production: { version: 2 },
      reason: expect.stringMatching(/no new labelled images/),
    });
    expect((await fx.db.selectFrom('runs').select('id').execute()).length).toBe(runsBefore);
  }, 120_000);
});
