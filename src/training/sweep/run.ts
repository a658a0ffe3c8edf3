// Running a sweep: every trial becomes a `train` job on the configured queue — the embedded one (this process trains
// the trials one after another) or BullMQ (any number of `secondread worker` processes take them) — and this
// function follows the jobs' rows until all have ended. Running the same sweep again continues it: trials already
// queued, running or done are followed, not queued twice; failed ones are queued again.
import { canonicalJson } from '../../core/canonical-json.js';
import { ConflictError } from '../../core/errors.js';
import type { Job, JobQueue, JobStatus } from '../../jobs/index.js';
import { listJobsOfKind } from '../../jobs/index.js';
import type { Db } from '../../storage/db.js';
import { TRAIN_JOB_KIND, type TrainJobPayload, type TrainJobResult } from '../train-job.js';
import type { SweepPlan, SweepTrial } from './config.js';

export const SWEEP_TAG = 'sweep';
export const TRIAL_TAG = 'trial';

export interface TrialState {
  trial: SweepTrial;
  jobId: string;
  status: JobStatus;
  progress: number;
  /** Set once the job succeeded. */
  result?: TrainJobResult;
  error?: { code: string; message: string };
}

export interface SweepRunDeps {
  db: Db;
  queue: JobQueue;
  createdBy: string;
  /** How often job rows are read (default 1 s). */
  pollMs?: number;
  /** Stop following (the jobs stay queued; running the sweep again continues). */
  signal?: AbortSignal;
  onUpdate?: (states: readonly TrialState[]) => void;
}

const ENDED: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

function payloadOf(plan: SweepPlan, trial: SweepTrial): TrainJobPayload {
  return { options: trial.options, tags: { [SWEEP_TAG]: plan.name, [TRIAL_TAG]: String(trial.index) } };
}

function stateOf(trial: SweepTrial, job: Job): TrialState {
  const s: TrialState = { trial, jobId: job.id, status: job.status, progress: job.progress };
  if (job.status === 'succeeded') s.result = job.result as TrainJobResult;
  if (job.error) s.error = job.error;
  return s;
}

/** The jobs an earlier invocation of this sweep queued, by trial index; refuses a sweep whose trials changed since. */
async function earlierJobs(db: Db, plan: SweepPlan): Promise<Map<number, Job>> {
  const out = new Map<number, Job>();
  for (const job of await listJobsOfKind(db, TRAIN_JOB_KIND, 100_000)) {
    const p = job.payload as Partial<TrainJobPayload>;
    if (p.tags?.[SWEEP_TAG] !== plan.name) continue;
    const index = Number(p.tags[TRIAL_TAG]);
    const trial = plan.trials[index - 1];
    if (!trial || canonicalJson(p.options) !== canonicalJson(trial.options))
      throw new ConflictError(`sweep '${plan.name}' already ran with other trials (trial ${index} differs): give the changed sweep another name`, {
        sweep: plan.name,
        trial: index,
      });
    const seen = out.get(index);
    // A failed trial may have been queued again; the latest job speaks for it.
    if (!seen || job.createdAt >= seen.createdAt) out.set(index, job);
  }
  return out;
}

/** Queues what is not queued yet (or failed before) and returns one job per trial. */
export async function queueSweep(plan: SweepPlan, deps: Pick<SweepRunDeps, 'db' | 'queue' | 'createdBy'>): Promise<TrialState[]> {
  const earlier = await earlierJobs(deps.db, plan);
  const states: TrialState[] = [];
  for (const trial of plan.trials) {
    const job = earlier.get(trial.index);
    if (job && job.status !== 'failed' && job.status !== 'cancelled') states.push(stateOf(trial, job));
    else states.push(stateOf(trial, await deps.queue.enqueue(TRAIN_JOB_KIND, payloadOf(plan, trial), { createdBy: deps.createdBy })));
  }
  return states;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Queues the sweep's trials and follows them until every one has ended (or `signal`). */
export async function runSweep(plan: SweepPlan, deps: SweepRunDeps): Promise<TrialState[]> {
  let states = await queueSweep(plan, deps);
  deps.onUpdate?.(states);
  while (!deps.signal?.aborted && states.some((s) => !ENDED.includes(s.status))) {
    await sleep(deps.pollMs ?? 1000, deps.signal);
    states = await Promise.all(
      states.map(async (s) => {
        if (ENDED.includes(s.status)) return s;
        const job = await deps.queue.get(s.jobId);
        return job ? stateOf(s.trial, job) : s;
      }),
    );
    deps.onUpdate?.(states);
  }
  return states;
}

/** Finished trials, best first by the plan's metric (trials without the figure last). */
export function rankTrials(plan: Pick<SweepPlan, 'metric' | 'goal'>, states: readonly TrialState[]): TrialState[] {
  const value = (s: TrialState) => s.result?.summary?.[plan.metric];
  const sign = plan.goal === 'max' ? -1 : 1;
  return [...states].sort((a, b) => {
    const [va, vb] = [value(a), value(b)];
    if (va === undefined || vb === undefined) return (va === undefined ? 1 : 0) - (vb === undefined ? 1 : 0) || a.trial.index - b.trial.index;
    return sign * (va - vb) || a.trial.index - b.trial.index;
  });
}
