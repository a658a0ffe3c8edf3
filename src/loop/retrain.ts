// The `retrain` job: the production model's labels come back as a feedback dataset merged into the version it
// was trained on, a child run of the production model's run trains on it, the candidate is registered as the
// model's next version and handed to the change protocol (rollout/) — which decides whether it goes anywhere.
// Nothing here moves an alias: promotion is rollout's, after evaluation.
import { z } from 'zod';

import { SecondreadError, ValidationError } from '../core/errors.js';
import { NoNewLabelsError } from '../data/feedback/index.js';
import type { JobContext, JobQueue } from '../jobs/index.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ModelRegistry, Tracker } from '../tracking/index.js';
import { trainForJob } from '../training/index.js';
import { buildFeedbackDataset } from './feedback.js';

export const RETRAIN_JOB = 'retrain';
export const TRIGGERS = ['manual', 'schedule', 'drift', 'labels'] as const;
export type TriggerKind = (typeof TRIGGERS)[number];

/** Training options a retrain may set; what to start from and what to train on are the job's to decide. */
const trainOverrides = z.record(z.string(), z.unknown()).refine((o) => !['fromModel', 'dataset', 'resume', 'addFinalEvalFraction'].some((k) => k in o), {
  message: 'fromModel, dataset and addFinalEvalFraction are chosen by the retrain job, not given as training options',
});

export const retrainPayloadSchema = z
  .object({
    /** The registered model; the job retrains its `production` version. */
    model: z.string().min(1),
    trigger: z.object({ kind: z.enum(TRIGGERS), detail: z.record(z.string(), z.unknown()).default({}) }).strict(),
    /** Train on this dataset version instead of building a feedback dataset. */
    dataset: z.string().min(1).optional(),
    /** Feedback selection (workflow/feedback.ts). */
    since: z.string().optional(),
    includeAutoFinalized: z.boolean().default(false),
    /** Training options (epochs, batchSize, lr, seed, …: training/options.ts), validated by the trainer. */
    train: trainOverrides.default({}),
  })
  .strict();
export type RetrainPayload = z.input<typeof retrainPayloadSchema>;

export function parseRetrainPayload(p: unknown): z.infer<typeof retrainPayloadSchema> {
  const r = retrainPayloadSchema.safeParse(p);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ValidationError(`retrain job: ${i.path.join('.') || '(payload)'}: ${i.message}`);
  }
  return r.data;
}

export interface Candidate {
  name: string;
  version: number;
  runId: string;
  /** The production version it was trained from. */
  parent: { version: number; runId: string };
  datasetVersion: string;
  trigger: TriggerKind;
}

/** rollout/'s evaluation of a candidate (change protocol → staging or rejected); its answer goes into the job result. */
export type CandidateHandOff = (candidate: Candidate, ctx: JobContext) => Promise<Record<string, unknown>>;

export interface RetrainDeps {
  db: Db;
  objects: ObjectStore;
  registry: ModelRegistry;
  tracker: Tracker;
  /** Root of the training caches (`$SECONDREAD_HOME/cache`). */
  cacheDir: string;
  handOff?: CandidateHandOff;
}

export type RetrainResult =
  | { status: 'skipped'; reason: string; trigger: TriggerKind; production: { version: number } }
  | {
      status: 'trained';
      trigger: TriggerKind;
      production: { version: number; runId: string };
      feedback: { version: string; built: boolean; added: number; images: number } | null;
      dataset: string;
      run: { id: string; parentRunId: string | null; status: string; summary: Record<string, number> | null };
      candidate: { name: string; version: number };
      /** rollout's verdict; null when no change protocol is wired in (the candidate waits in the registry). */
      rollout: Record<string, unknown> | null;
    };

class RetrainInterruptedError extends SecondreadError {
  constructor(runId: string) {
    super('interrupted', `retraining was interrupted: run ${runId} is checkpointed and marked killed (resume it with train --resume)`, 503, { run: runId });
  }
}

export async function runRetrain(deps: RetrainDeps, payload: unknown, ctx: JobContext): Promise<RetrainResult> {
  const p = parseRetrainPayload(payload);
  const prod = await deps.registry.resolve(p.model, { alias: 'production' });
  if (!prod.runId) throw new ValidationError(`${p.model} v${prod.version} was imported, not trained here: it has no run to continue from`);
  const baseDataset = prod.datasetVersion ?? (await deps.tracker.getRun(prod.runId)).datasetVersion;

  let dataset = p.dataset;
  let feedback: Extract<RetrainResult, { status: 'trained' }>['feedback'] = null;
  if (dataset === undefined) {
    try {
      const fb = await buildFeedbackDataset(
        { db: deps.db, objects: deps.objects },
        { since: p.since, includeAutoFinalized: p.includeAutoFinalized, base: baseDataset ?? undefined, name: `feedback for ${p.model}` },
      );
      feedback = { version: fb.versionId, built: fb.built, added: fb.report.added, images: fb.report.images };
      dataset = fb.versionId;
    } catch (err) {
      // No new labels is the answer of a trigger that fired early (a drift alarm before anyone adjudicated): no run.
      if (err instanceof NoNewLabelsError) return { status: 'skipped', reason: err.message, trigger: p.trigger.kind, production: { version: prod.version } };
      throw err;
    }
  }
  await ctx.progress(0.05);
  ctx.logger.info({ model: p.model, from: prod.version, dataset, trigger: p.trigger.kind }, 'retraining');

  // A retrain handed back at shutdown resumes its run when the job runs again (trainForJob).
  const trained = await trainForJob(
    { db: deps.db, objects: deps.objects, tracker: deps.tracker, registry: deps.registry, cacheDir: deps.cacheDir },
    { workers: 0, experiment: 'retrain', name: `retrain-${p.model}-${p.trigger.kind}`, ...p.train, fromModel: `${p.model}:${prod.version}`, dataset },
    ctx,
    // The job's own progress moves between 5 % and 90 % while it trains.
    { share: (f) => 0.05 + 0.85 * f },
  );
  if (trained.status !== 'finished') throw new RetrainInterruptedError(trained.run.id);
  await ctx.progress(0.9);

  const mv = await deps.registry.register({
    runId: trained.run.id,
    name: p.model,
    by: 'retrain',
    notes: `retrained (${p.trigger.kind}) from ${p.model} v${prod.version} on ${dataset}`,
  });
  const candidate: Candidate = {
    name: mv.name,
    version: mv.version,
    runId: trained.run.id,
    parent: { version: prod.version, runId: prod.runId },
    datasetVersion: dataset,
    trigger: p.trigger.kind,
  };
  const rollout = deps.handOff ? await deps.handOff(candidate, ctx) : null;
  await ctx.progress(1);
  return {
    status: 'trained',
    trigger: p.trigger.kind,
    production: { version: prod.version, runId: prod.runId },
    feedback,
    dataset,
    run: { id: trained.run.id, parentRunId: trained.run.parentRunId, status: trained.run.status, summary: trained.run.summary },
    candidate: { name: mv.name, version: mv.version },
    rollout,
  };
}

/** Registers the `retrain` handler on the queue of the process that runs jobs (serve with the embedded queue, worker with Redis). */
export function registerRetrainHandler(queue: JobQueue, deps: RetrainDeps): void {
  queue.register(RETRAIN_JOB, (payload, ctx) => runRetrain(deps, payload, ctx));
}
