// Training as a background job (kind `train`): what a sweep's trials and any other queued training run through, on
// the embedded queue or on `secondread worker` processes (BullMQ). The payload is the trainer's own options plus
// run tags; the handler tags the run with its job id, so a job handed back (worker stopped, or lost and re-queued)
// resumes its run from the last checkpoint instead of starting a second one.
import { hostname } from 'node:os';

import { SecondreadError } from '../core/errors.js';
import type { ProgressEvent } from '../core/progress.js';
import type { JobContext, JobHandler, JobQueue } from '../jobs/index.js';
import { parseTrainOptions, type TrainOptionsInput } from './options.js';
import { resumeTraining, startTraining, type TrainerDeps } from './trainer.js';

export const TRAIN_JOB_KIND = 'train';

export interface TrainJobPayload {
  options: TrainOptionsInput;
  tags?: Record<string, string>;
}

export interface TrainJobResult {
  run: string;
  status: 'finished';
  /** The run's summary figures (val/test accuracy, …); null when interrupted. */
  summary: Record<string, number> | null;
  /** Which process trained it (`host:pid`). */
  worker: string;
}

export type TrainJobDeps = Omit<TrainerDeps, 'onProgress' | 'signal' | 'onRunStarted'>;

/** The tag that ties a run to the job that trains it. */
export const JOB_TAG = 'job';

/** `epoch 3/10` with done/total batches → the share of the whole run; other phases (loading, export) hold the last value. */
export function epochFraction(e: ProgressEvent): number | undefined {
  const m = /^epoch (\d+)\/(\d+)$/.exec(e.phase);
  if (!m || !e.total) return undefined;
  const [epoch, epochs] = [Number(m[1]), Number(m[2])];
  return Math.min(1, (epoch - 1 + e.done / e.total) / epochs);
}

/** Reports progress to the job at most every `everyMs` (each report is a DB write). */
function jobProgress(ctx: JobContext, everyMs: number): (e: ProgressEvent) => void {
  let last = 0;
  return (e) => {
    const f = epochFraction(e);
    const now = Date.now();
    if (f === undefined || now - last < everyMs) return;
    last = now;
    // Training is ~95% of a job; the rest is evaluation and export.
    void ctx.progress(0.95 * f).catch(() => undefined);
  };
}

async function runOfJob(deps: TrainJobDeps, experiment: string, jobId: string): Promise<string | undefined> {
  const runs = await deps.tracker.listRuns({ experiment });
  return runs.find((r) => r.tags[JOB_TAG] === jobId && r.status !== 'finished')?.id;
}

export function trainJobHandler(deps: TrainJobDeps): JobHandler<TrainJobPayload, TrainJobResult> {
  return async (payload, ctx) => {
    const options = parseTrainOptions(payload.options);
    const trainer: TrainerDeps = { ...deps, signal: ctx.signal, onProgress: jobProgress(ctx, 2000) };
    const earlier = await runOfJob(deps, options.experiment, ctx.jobId);
    if (earlier) ctx.logger.info({ run: earlier, job: ctx.jobId }, 'resuming the run this job started before it was handed back');
    const result = earlier
      ? await resumeTraining(trainer, earlier)
      : await startTraining(trainer, payload.options, { tags: { ...payload.tags, [JOB_TAG]: ctx.jobId } });
    // Interrupted means the queue is closing and has handed the job back (its writes are fenced off by then);
    // failing it keeps an interrupted run from ever reading as a success.
    if (result.status === 'killed') throw new SecondreadError('interrupted', `training run ${result.run.id} was interrupted; the job resumes it`, 409);
    const summary = (await deps.tracker.getRun(result.run.id)).summary ?? null;
    return { run: result.run.id, status: 'finished', summary, worker: `${hostname()}:${process.pid}` };
  };
}

export function registerTrainJob(queue: JobQueue, deps: TrainJobDeps): void {
  queue.register(TRAIN_JOB_KIND, trainJobHandler(deps));
}
