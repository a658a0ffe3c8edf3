// The `jobs` table: the one place job state lives, whichever backend runs the jobs (the in-process queue claims
// rows from it; the BullMQ queue mirrors its jobs into it), so `get(id)` and the API read one source. Every write
// that belongs to a running attempt is guarded by `locked_by`: once a job was re-queued (its worker was presumed
// dead) the old attempt's late writes change nothing.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import { sql } from 'kysely';

import { ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Db } from '../storage/db.js';
import type { JobsTable } from '../storage/schema.js';
import { WORKER_LOST } from './errors.js';
import type { Job, JobError, JobStatus } from './types.js';

const KIND = /^[a-z][a-z0-9_.-]{0,62}$/;

export function assertKind(kind: string): string {
  if (typeof kind !== 'string' || !KIND.test(kind)) throw new ValidationError(`invalid job kind '${String(kind)}' (lower-case letters, digits, '_', '.', '-')`);
  return kind;
}

/** `host:pid:random` — unique per queue instance, so two queues in one process never steal each other's locks. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

export function toJob(r: JobsTable): Job {
  return {
    id: r.id,
    kind: r.kind,
    payload: JSON.parse(r.payload_json) as unknown,
    status: r.status as JobStatus,
    progress: Number(r.progress),
    result: r.result_json === null ? null : (JSON.parse(r.result_json) as unknown),
    error: r.error_json === null ? null : (JSON.parse(r.error_json) as JobError),
    attempts: Number(r.attempts),
    createdBy: r.created_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** JSON text of a payload/result; refuses values JSON cannot carry (functions, BigInt, cycles) at enqueue time. */
function toJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch (err) {
    throw new ValidationError(`job ${what} is not JSON-serializable: ${(err as Error).message}`);
  }
  if (text === undefined) throw new ValidationError(`job ${what} is not JSON-serializable`);
  return text;
}

/** Jobs of one kind, oldest first, read-only (a sweep finds the trials an earlier invocation queued). */
export function listJobsOfKind(db: Db, kind: string, limit?: number): Promise<Job[]> {
  return new JobStore(db).listByKind(kind, limit);
}

export class JobStore {
  constructor(private readonly db: Db) {}

  async insert<P>(o: { kind: string; payload: P; createdBy: string; now: string; id?: string }): Promise<Job<P>> {
    if (typeof o.createdBy !== 'string' || o.createdBy.length === 0 || o.createdBy.length > 200)
      throw new ValidationError('createdBy must be a non-empty name');
    const row: JobsTable = {
      id: o.id ?? newId('job_'),
      kind: assertKind(o.kind),
      payload_json: toJson(o.payload, 'payload'),
      status: 'queued',
      progress: 0,
      result_json: null,
      error_json: null,
      attempts: 0,
      created_by: o.createdBy,
      created_at: o.now,
      started_at: null,
      finished_at: null,
      locked_by: null,
      heartbeat_at: null,
    };
    await this.db.insertInto('jobs').values(row).execute();
    return toJob(row) as Job<P>;
  }

  async get(id: string): Promise<Job | null> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toJob(row) : null;
  }

  /** Jobs of one kind, oldest first (a sweep finds the trials an earlier invocation queued). */
  async listByKind(kind: string, limit = 1000): Promise<Job[]> {
    const rows = await this.db.selectFrom('jobs').selectAll().where('kind', '=', assertKind(kind)).orderBy('created_at').orderBy('id').limit(limit).execute();
    return rows.map(toJob);
  }

  /** Oldest queued jobs of these kinds (candidates; `claim` decides who gets one). */
  async nextQueued(kinds: readonly string[], limit: number): Promise<string[]> {
    if (kinds.length === 0 || limit <= 0) return [];
    const rows = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', 'queued')
      .where('kind', 'in', [...kinds])
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Takes a queued job for `worker` (compare-and-set on status: of two workers racing for one row, exactly one
   * updates it — on SQLite and PostgreSQL alike, with no lock held across the handler). Counts the attempt.
   */
  async claim(id: string, worker: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ status: 'running', locked_by: worker, heartbeat_at: now, started_at: now, attempts: sql<number>`attempts + 1`, progress: 0, error_json: null })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Marks a job running for `worker` whatever its state (BullMQ decides who runs a job; the row only mirrors it). */
  async markRunning(id: string, worker: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ status: 'running', locked_by: worker, heartbeat_at: now, started_at: now, attempts: sql<number>`attempts + 1`, progress: 0, error_json: null })
      .where('id', '=', id)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Progress 0…1 and a heartbeat, by the attempt that holds the job. */
  async progress(id: string, worker: string, fraction: number, now: string): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ progress: fraction, heartbeat_at: now })
      .where('id', '=', id)
      .where('locked_by', '=', worker)
      .where('status', '=', 'running')
      .execute();
  }

  async heartbeat(ids: readonly string[], worker: string, now: string): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('jobs')
      .set({ heartbeat_at: now })
      .where('id', 'in', [...ids])
      .where('locked_by', '=', worker)
      .where('status', '=', 'running')
      .execute();
  }

  async succeed(id: string, worker: string, result: unknown, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ status: 'succeeded', progress: 1, result_json: toJson(result, 'result'), error_json: null, finished_at: now, locked_by: null, heartbeat_at: null })
      .where('id', '=', id)
      .where('locked_by', '=', worker)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Fails the job. `worker` null: whoever holds it (a job given up on after its workers died). */
  async fail(id: string, worker: string | null, error: JobError, now: string): Promise<boolean> {
    let q = this.db
      .updateTable('jobs')
      .set({ status: 'failed', error_json: JSON.stringify(error), finished_at: now, locked_by: null, heartbeat_at: null })
      .where('id', '=', id)
      .where('status', 'in', ['queued', 'running']);
    if (worker !== null) q = q.where('locked_by', '=', worker);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Puts a running job back in the queue. `refund`: the attempt did not fail (a graceful shutdown handed it
   * back), so it does not count toward the retry limit.
   */
  async requeue(id: string, worker: string | null, o: { refund: boolean }): Promise<boolean> {
    let q = this.db
      .updateTable('jobs')
      .set({
        status: 'queued',
        locked_by: null,
        heartbeat_at: null,
        started_at: null,
        progress: 0,
        ...(o.refund ? { attempts: sql<number>`attempts - 1` } : {}),
      })
      .where('id', '=', id)
      .where('status', '=', 'running');
    if (worker !== null) q = q.where('locked_by', '=', worker);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Jobs left `running` by a worker that stopped heart-beating before `before` (killed, machine lost): re-queued,
   * or failed with `worker_lost` once they used `maxAttempts` attempts. Each update re-checks the stale heartbeat,
   * so a worker that beats in between keeps its job.
   */
  async reclaimStale(before: string, maxAttempts: number, now: string): Promise<{ requeued: string[]; failed: string[] }> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['id', 'attempts'])
      .where('status', '=', 'running')
      .where((eb) => eb.or([eb('heartbeat_at', '<', before), eb('heartbeat_at', 'is', null)]))
      .execute();
    const out = { requeued: [] as string[], failed: [] as string[] };
    for (const r of rows) {
      const giveUp = Number(r.attempts) >= maxAttempts;
      const base = this.db.updateTable('jobs');
      const set = giveUp
        ? base.set({
            status: 'failed',
            finished_at: now,
            locked_by: null,
            heartbeat_at: null,
            error_json: JSON.stringify({
              code: WORKER_LOST,
              message: `the job's worker stopped responding ${Number(r.attempts)} time(s); giving up`,
            } satisfies JobError),
          })
        : base.set({ status: 'queued', locked_by: null, heartbeat_at: null, started_at: null, progress: 0 });
      const res = await set
        .where('id', '=', r.id)
        .where('status', '=', 'running')
        .where((eb) => eb.or([eb('heartbeat_at', '<', before), eb('heartbeat_at', 'is', null)]))
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) (giveUp ? out.failed : out.requeued).push(r.id);
    }
    return out;
  }
}
