// The `train` job handler: progress as a share of the epochs, and a job that was handed back resuming the run it
// had started (tagged with its job id) instead of training a second one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import type { JobContext } from '../jobs/index.js';
import { ModelRegistry } from '../tracking/index.js';
import { openTrainingFixture, type TrainingFixture } from './testing.js';
import { epochFraction, JOB_TAG, trainJobHandler } from './train-job.js';
import { startTraining } from './trainer.js';

let fx: TrainingFixture;
beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 10, imageSize: 40 });
}, 120_000);
afterAll(async () => {
  await fx?.close();
});

const deps = () => ({ db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir, registry: new ModelRegistry(fx.db, fx.objects, fx.tracker) });

function jobContext(jobId: string, seen: number[] = []): JobContext {
  return { jobId, signal: new AbortController().signal, logger: silentLogger, progress: async (f) => void seen.push(f) };
}

describe('epochFraction', () => {
  it('maps epoch k/N and its batches to the share of the run; other phases to nothing', () => {
    expect(epochFraction({ phase: 'epoch 1/4', done: 5, total: 10 })).toBe(0.125);
    expect(epochFraction({ phase: 'epoch 4/4', done: 10, total: 10 })).toBe(1);
    expect(epochFraction({ phase: 'validate 1/4', done: 5, total: 10 })).toBeUndefined();
    expect(epochFraction({ phase: 'epoch 1/4', done: 0 })).toBeUndefined();
  });
});

describe('trainJobHandler', () => {
  const options = () => ({ dataset: fx.versionId, model: 'vit-tiny', epochs: 2, batchSize: 16, experiment: 'jobs', logEvery: 2 });

  it('resumes the run a handed-back job had started, and tags a new run with its job id', async () => {
    // The first attempt: interrupted after its first step (as when the queue closes and hands the job back).
    const stop = new AbortController();
    const first = await startTraining(
      { ...deps(), signal: stop.signal, onProgress: (e) => e.phase.startsWith('epoch') && e.done >= 1 && stop.abort() },
      options(),
      { tags: { [JOB_TAG]: 'job_a' } },
    );
    expect(first.status).toBe('killed');

    const seen: number[] = [];
    const again = await trainJobHandler(deps())({ options: options() }, jobContext('job_a', seen));
    expect(again).toMatchObject({ run: first.run.id, status: 'finished' });
    expect(again.summary!.val_accuracy).toBeGreaterThanOrEqual(0);
    expect((await fx.tracker.listRuns({ experiment: 'jobs' })).length).toBe(1);

    const other = await trainJobHandler(deps())({ options: options(), tags: { sweep: 's' } }, jobContext('job_b'));
    expect(other.run).not.toBe(first.run.id);
    expect((await fx.tracker.getRun(other.run)).tags).toEqual({ sweep: 's', [JOB_TAG]: 'job_b' });
  }, 180_000);
});
