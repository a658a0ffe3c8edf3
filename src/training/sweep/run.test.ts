// A sweep over the embedded queue: real trials trained on a small built dataset version, followed to the end,
// ranked, tagged; running the sweep again continues it (no duplicate jobs), retries only failed trials, and refuses
// a changed sweep under the same name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConflictError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { createInProcessQueue, type JobQueue } from '../../jobs/index.js';
import { ModelRegistry } from '../../tracking/index.js';
import { openTrainingFixture, type TrainingFixture } from '../testing.js';
import { registerTrainJob } from '../train-job.js';
import { parseSweepFile, planSweep } from './config.js';
import { rankTrials, runSweep } from './run.js';

let fx: TrainingFixture;
let queue: JobQueue;
beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 10, imageSize: 40 });
  queue = createInProcessQueue({ db: fx.db, logger: silentLogger, pollMs: 50 });
  registerTrainJob(queue, {
    db: fx.db,
    objects: fx.objects,
    tracker: fx.tracker,
    cacheDir: fx.cacheDir,
    registry: new ModelRegistry(fx.db, fx.objects, fx.tracker),
  });
  await queue.start();
}, 120_000);
afterAll(async () => {
  await queue?.close();
  await fx?.close();
});

const sweep = (extra = '') =>
  planSweep(
    parseSweepFile(`
name: tiny
base: { dataset: ${fx.versionId}, model: vit-tiny, epochs: 1, batch-size: 16, log-every: 2 }
parameters:
  lr: { values: [0.002, 0.0005] }
${extra}`),
  );

describe('runSweep (embedded queue)', () => {
  it('trains every trial as a job, tags the runs and ranks them by the metric', async () => {
    const plan = sweep();
    const seen: number[] = [];
    const states = await runSweep(plan, {
      db: fx.db,
      queue,
      createdBy: 'alice',
      pollMs: 50,
      onUpdate: (s) => seen.push(s.filter((t) => t.status === 'succeeded').length),
    });
    expect(states.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
    expect(seen.at(-1)).toBe(2);
    for (const s of states) {
      const run = await fx.tracker.getRun(s.result!.run);
      expect(run).toMatchObject({ status: 'finished', name: `tiny-${s.trial.index}`, tags: { sweep: 'tiny', trial: String(s.trial.index), job: s.jobId } });
      expect(run.params).toMatchObject({ lr: s.trial.varied.lr, model: 'vit-tiny' });
      expect(s.result!.summary!.val_accuracy).toBe(run.summary!.val_accuracy);
      expect(s.result!.worker).toMatch(new RegExp(`:${process.pid}$`));
    }
    expect((await fx.tracker.listRuns({ experiment: 'sweep-tiny' })).length).toBe(2);
    const ranked = rankTrials(plan, states);
    const acc = ranked.map((s) => s.result!.summary!.val_accuracy!);
    expect(acc[0]).toBeGreaterThanOrEqual(acc[1]!);
    expect(rankTrials({ ...plan, goal: 'min' }, states)[0]).toBe(ranked[1]);
  }, 180_000);

  it('continues instead of re-queuing: the same sweep again follows the finished jobs', async () => {
    const before = await runSweep(sweep(), { db: fx.db, queue, createdBy: 'alice', pollMs: 50 });
    const again = await runSweep(sweep(), { db: fx.db, queue, createdBy: 'alice', pollMs: 50 });
    expect(again.map((s) => s.jobId)).toEqual(before.map((s) => s.jobId));
    expect((await fx.tracker.listRuns({ experiment: 'sweep-tiny' })).length).toBe(2);
  }, 60_000);

  it('refuses a changed sweep under the same name', async () => {
    const changed = planSweep(
      parseSweepFile(
        `name: tiny\nbase: { dataset: ${fx.versionId}, model: vit-tiny, epochs: 2, batch-size: 16 }\nparameters:\n  lr: { values: [0.002, 0.0005] }\n`,
      ),
    );
    await expect(runSweep(changed, { db: fx.db, queue, createdBy: 'alice', pollMs: 50 })).rejects.toBeInstanceOf(ConflictError);
  });

  it('records a failing trial as failed with its reason and queues it again on the next invocation', async () => {
    const plan = planSweep(parseSweepFile(`name: broken\nbase: { model: vit-tiny, epochs: 1 }\nparameters:\n  dataset: { values: [ds-does-not-exist] }\n`));
    const first = await runSweep(plan, { db: fx.db, queue, createdBy: 'alice', pollMs: 50 });
    expect(first[0]).toMatchObject({ status: 'failed', error: { code: 'not_found' } });
    const second = await runSweep(plan, { db: fx.db, queue, createdBy: 'alice', pollMs: 50 });
    expect(second[0]!.status).toBe('failed');
    expect(second[0]!.jobId).not.toBe(first[0]!.jobId);
  }, 60_000);
});
