// Training as a background job (kind `train`): what a sweep's trials and any other queued training run through, on
// the embedded queue or on `secondread worker` processes (BullMQ). The payload is the trainer's own options plus
// run tags; the handler tags the run with its job id, so a job handed back (worker stopped, or lost and re-queued)
// resumes its run from the last checkpoint instead of starting a second one. `trainForJob` is that step for any
// job that trains (the loop's `retrain` too).
import { hostname } from 'node:os';

import { SecondreadError } from '../core/errors.js';
import type { ProgressEvent } from '../core/progress.js';
import type { JobContext, JobHandler, JobQueue } from '../jobs/index.js';
import { parseTrainOptions, type TrainOptionsInput } from './options.js';
import { resumeTraining, startTraining, type TrainerDeps, type TrainResult } from './trainer.js';

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

/**
 * Reports training progress to the job at most every `everyMs` (each report is a DB write), mapped by `share`
 * from the run's fraction to the job's (training is most of a job, not all of it).
 */
function jobProgress(ctx: JobContext, everyMs: number, share: (f: number) => number): (e: ProgressEvent) => void {
  let last = 0;
  return (e) => {
    const f = epochFraction(e);
    const now = Date.now();
    if (f === undefined || now - last < everyMs) return;
    last = now;
    void ctx.progress(share(f)).catch(() => undefined);
  };
}

async function runOfJob(deps: TrainJobDeps, experiment: string, jobId: string): Promise<string | undefined> {
  const runs = await deps.tracker.listRuns({ experiment });
  return runs.find((r) => r.tags[JOB_TAG] === jobId && r.status !== 'finished')?.id;
}

export interface TrainForJobOptions {
  /** Tags of a new run besides the job id. */
  tags?: Record<string, string>;
  /** The job's progress for a share f of the run trained (default 0.95·f: evaluation and export follow). */
  share?: (f: number) => number;
}

/**
 * Training inside any job (`train`, `retrain`, …): resumes the run this job started before it was handed back
 * (worker stopped, or lost and re-queued), else starts one tagged with the job id; progress goes to the job.
 * An interrupted result is the caller's to turn into an error.
 */
export async function trainForJob(deps: TrainJobDeps, input: TrainOptionsInput, ctx: JobContext, o: TrainForJobOptions = {}): Promise<TrainResult> {
  const options = parseTrainOptions(input);
  const trainer: TrainerDeps = { ...deps, signal: ctx.signal, onProgress: jobProgress(ctx, 2000, o.share ?? ((f) => 0.95 * f)) };
  const earlier = await runOfJob(deps, options.experiment, ctx.jobId);
  if (earlier) ctx.logger.info({ run: earlier, job: ctx.jobId }, 'resuming the run this job started before it was handed back');
  return earlier ? resumeTraining(trainer, earlier) : startTraining(trainer, input, { tags: { ...o.tags, [JOB_TAG]: ctx.jobId } });
}

export function trainJobHandler(deps: TrainJobDeps): JobHandler<TrainJobPayload, TrainJobResult> {
  return async (payload, ctx) => {
    const result = await trainForJob(deps, payload.options, ctx, { tags: payload.tags });
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
