// Evaluations as a service: `create` checks every part of the request against the registry and the dataset
// repository (nothing from the request ever becomes a path or an object key), records the evaluation and enqueues
// an `evaluation` job; the job (in whichever process runs jobs) scores the model and stores the figures.
//
// The job is enqueued before the evaluation row is inserted (the row references it), so the handler may start
// before that insert: both sides insert the row with "on conflict do nothing" from the same validated values.
import { systemClock } from '../../core/clock.js';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { JobContext, JobQueue } from '../../jobs/types.js';
import type { EvaluationsTable } from '../../storage/schema.js';
import { EVALUATION_SPLITS, partitionByClass, resolveTarget, runEvaluation } from './run.js';
import type { CreateEvaluation, Evaluation, EvaluationReport, EvaluationService, EvaluationServiceDeps, EvaluationSplit, EvaluationStatus } from './types.js';

export const EVALUATION_JOB = 'evaluation';
/** Re-exported: callers have imported it from here (it lives with resolveTarget now). */
export { EVALUATION_SPLITS };
const DEFAULT_ALIAS = 'production';

/** What the job carries: the already validated, resolved target (a version number, never an alias). */
interface EvaluationPayload {
  evaluationId: string;
  model: string;
  version: number;
  datasetVersion: string;
  split: EvaluationSplit;
  createdBy: string;
  createdAt: string;
}

export interface EvaluationJobResult {
  evaluationId: string;
  images: number;
  accuracy: number;
  macroF1: number | null;
}

function checkInput(input: CreateEvaluation): void {
  if (!input || typeof input !== 'object') throw new ValidationError('an evaluation needs {model, version | alias, datasetVersion, split}');
  if (typeof input.model !== 'string' || input.model.length === 0) throw new ValidationError('model must be a model name');
  if (input.version !== undefined && (!Number.isInteger(input.version) || input.version < 1))
    throw new ValidationError(`version must be a positive integer, got ${String(input.version)}`);
  if (input.alias !== undefined && typeof input.alias !== 'string') throw new ValidationError('alias must be a string');
  if (input.version !== undefined && input.alias !== undefined) throw new ValidationError('give a version or an alias, not both');
  if (typeof input.datasetVersion !== 'string' || input.datasetVersion.length === 0 || input.datasetVersion.length > 100)
    throw new ValidationError('datasetVersion must be a dataset version id');
  if (!EVALUATION_SPLITS.includes(input.split as EvaluationSplit))
    throw new ValidationError(`split must be one of ${EVALUATION_SPLITS.join(', ')}, got '${String(input.split)}'`);
  if (typeof input.createdBy !== 'string' || input.createdBy.length === 0) throw new ValidationError('createdBy must be a user name');
}

function baseRow(p: EvaluationPayload, jobId: string, status: EvaluationStatus): EvaluationsTable {
  return {
    id: p.evaluationId,
    job_id: jobId,
    model_name: p.model,
    model_version: p.version,
    dataset_version: p.datasetVersion,
    split: p.split,
    status,
    images: null,
    accuracy: null,
    macro_f1: null,
    report_json: null,
    created_by: p.createdBy,
    created_at: p.createdAt,
    finished_at: null,
  };
}

type EvaluationRow = EvaluationsTable & { job_status: string | null; job_progress: number | null; job_error: string | null };

function toEvaluation(row: EvaluationRow): Evaluation {
  return {
    id: row.id,
    jobId: row.job_id,
    model: row.model_name,
    version: Number(row.model_version),
    datasetVersion: row.dataset_version,
    split: row.split as EvaluationSplit,
    // The job is authoritative: a job failed by the queue (its worker lost) never reached the handler's update.
    status: (row.job_status ?? row.status) as EvaluationStatus,
    progress: row.job_progress === null ? 0 : Number(row.job_progress),
    images: row.images === null ? null : Number(row.images),
    accuracy: row.accuracy === null ? null : Number(row.accuracy),
    macroF1: row.macro_f1 === null ? null : Number(row.macro_f1),
    report: row.report_json === null ? null : (JSON.parse(row.report_json) as EvaluationReport),
    error: row.job_error ? (JSON.parse(row.job_error) as Evaluation['error']) : null,
    createdBy: row.created_by,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

class Evaluations implements EvaluationService {
  private readonly clock;
  private readonly batchSize: number;

  constructor(private readonly deps: EvaluationServiceDeps) {
    this.clock = deps.clock ?? systemClock;
    this.batchSize = deps.batchSize ?? 32;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new ValidationError(`batchSize must be a positive integer, got ${this.batchSize}`);
  }

  async create(input: CreateEvaluation): Promise<Evaluation> {
    checkInput(input);
    const { db, registry } = this.deps;
    const { mv, datasetVersion, split, images } = await resolveTarget({ db, registry }, input, { defaultAlias: DEFAULT_ALIAS });
    // Refuse now what the job could only fail on later: a split with nothing the model can be scored on.
    const { scored } = partitionByClass(images, mv.metadata.classes);
    if (scored.length === 0)
      throw new ValidationError(
        `split '${split}' of ${datasetVersion} has no images of the classes of ${mv.name} v${mv.version} (${mv.metadata.classes.join(', ')})`,
        { datasetVersion, split },
      );

    const payload: EvaluationPayload = {
      evaluationId: newId('eval_'),
      model: mv.name,
      version: mv.version,
      datasetVersion,
      split,
      createdBy: input.createdBy,
      createdAt: this.clock.now().toISOString(),
    };
    const job = await this.deps.jobs.enqueue(EVALUATION_JOB, payload, { createdBy: input.createdBy });
    await this.ensureRow(payload, job.id, 'queued');
    this.deps.logger.info({ evaluation: payload.evaluationId, job: job.id, model: mv.name, version: mv.version, datasetVersion, split }, 'evaluation queued');
    const e = await this.get(payload.evaluationId);
    if (!e) throw new NotFoundError('evaluation', payload.evaluationId);
    return e;
  }

  private async ensureRow(p: EvaluationPayload, jobId: string, status: EvaluationStatus): Promise<void> {
    await this.deps.db
      .insertInto('evaluations')
      .values(baseRow(p, jobId, status))
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  private select() {
    return this.deps.db
      .selectFrom('evaluations as e')
      .leftJoin('jobs as j', 'j.id', 'e.job_id')
      .selectAll('e')
      .select(['j.status as job_status', 'j.progress as job_progress', 'j.error_json as job_error']);
  }

  async get(id: string): Promise<Evaluation | null> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 100) return null;
    const row = await this.select().where('e.id', '=', id).executeTakeFirst();
    return row ? toEvaluation(row) : null;
  }

  async list(o: { model?: string; datasetVersion?: string; status?: EvaluationStatus; limit?: number } = {}): Promise<Evaluation[]> {
    const limit = o.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new ValidationError(`limit must be an integer from 1 to 500, got ${String(o.limit)}`);
    let q = this.select();
    if (o.model !== undefined) q = q.where('e.model_name', '=', o.model);
    if (o.datasetVersion !== undefined) q = q.where('e.dataset_version', '=', o.datasetVersion);
    if (o.status !== undefined) q = q.where((eb) => eb.fn.coalesce('j.status', 'e.status'), '=', o.status);
    const rows = await q.orderBy('e.created_at', 'desc').orderBy('e.id', 'desc').limit(limit).execute();
    return rows.map(toEvaluation);
  }

  registerHandler(queue: JobQueue): void {
    queue.register<EvaluationPayload, EvaluationJobResult>(EVALUATION_JOB, (p, ctx) => this.handle(p, ctx));
  }

  private async handle(p: EvaluationPayload, ctx: JobContext): Promise<EvaluationJobResult> {
    const { db } = this.deps;
    await this.ensureRow(p, ctx.jobId, 'running');
    await db.updateTable('evaluations').set({ status: 'running' }).where('id', '=', p.evaluationId).execute();
    try {
      const report = await runEvaluation(
        { db, objects: this.deps.objects, registry: this.deps.registry, logger: ctx.logger, batchSize: this.batchSize, cacheDir: this.deps.cacheDir },
        { model: p.model, version: p.version, datasetVersion: p.datasetVersion, split: p.split },
        { signal: ctx.signal, progress: (f) => ctx.progress(0.99 * f) },
      );
      // Handed back while finishing: the job belongs to the next attempt now, which stores its own figures.
      ctx.signal.throwIfAborted();
      const finishedAt = this.clock.now().toISOString();
      await db
        .updateTable('evaluations')
        .set({
          status: 'succeeded',
          images: report.count,
          accuracy: report.accuracy,
          macro_f1: report.macroF1,
          report_json: JSON.stringify(report),
          finished_at: finishedAt,
        })
        .where('id', '=', p.evaluationId)
        .execute();
      await this.notify(p.evaluationId, ctx);
      return { evaluationId: p.evaluationId, images: report.count, accuracy: report.accuracy, macroF1: report.macroF1 };
    } catch (err) {
      // Aborted = handed back at shutdown: the job is queued again and this evaluation will run again.
      const update = ctx.signal.aborted ? { status: 'queued' as const } : { status: 'failed' as const, finished_at: this.clock.now().toISOString() };
      await db.updateTable('evaluations').set(update).where('id', '=', p.evaluationId).execute();
      throw err;
    }
  }

  /** Hands the finished evaluation to `onResult` (the API's gauges); a failure there does not fail the evaluation. */
  private async notify(id: string, ctx: JobContext): Promise<void> {
    if (!this.deps.onResult) return;
    const e = await this.get(id);
    if (!e) return;
    try {
      // The job itself becomes `succeeded` only once this handler returns.
      await this.deps.onResult({ ...e, status: 'succeeded', progress: 1 });
    } catch (err) {
      ctx.logger.error({ err, evaluation: id }, 'onResult failed for a finished evaluation');
    }
  }
}

export function createEvaluationService(deps: EvaluationServiceDeps): EvaluationService {
  return new Evaluations(deps);
}
