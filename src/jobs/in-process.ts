// The embedded job queue: jobs are rows of the `jobs` table and this process runs them, `concurrency` at a time.
// Rows survive a restart: a job left `running` by a process that died (its heartbeat went stale) is re-queued —
// by the next queue to start, or by any live queue sharing the DB — until it used `maxAttempts` attempts, then it
// fails with `worker_lost`. A handler that throws fails its job at once (its error is recorded, not retried:
// the errors jobs raise — a missing model, an invalid dataset — do not go away by trying again).
import { type Clock, systemClock } from '../core/clock.js';
import { ConflictError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../storage/db.js';
import { jobErrorOf, JobQueueClosedError, UnknownJobKindError } from './errors.js';
import { assertKind, JobStore, newWorkerId } from './store.js';
import type { Job, JobContext, JobHandler, JobQueue } from './types.js';

export interface InProcessQueueOptions {
  db: Db;
  logger: Logger;
  /** Jobs run at once (default 1: jobs are CPU-heavy and share the machine with serving). */
  concurrency?: number;
  clock?: Clock;
  /** How often the table is polled for jobs other processes enqueued (default 1000 ms). */
  pollMs?: number;
  /** How often running jobs' heartbeats are refreshed and stale jobs looked for (default 5000 ms). */
  heartbeatMs?: number;
  /** A running job whose heartbeat is older than this is presumed orphaned (default 60000 ms). */
  staleMs?: number;
  /** Attempts (starts) before an orphaned job is given up on (default 3). */
  maxAttempts?: number;
  /** `close` waits this long for running jobs before aborting and re-queueing them (default 10000 ms). */
  shutdownGraceMs?: number;
}

interface Running {
  abort: AbortController;
  done: Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export function progressFraction(fraction: number): number {
  if (typeof fraction !== 'number' || !Number.isFinite(fraction)) throw new ValidationError(`job progress must be a finite number, got ${String(fraction)}`);
  return Math.min(1, Math.max(0, fraction));
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ValidationError(`${name} must be a positive integer, got ${v}`);
  return v;
}

class InProcessQueue implements JobQueue {
  private readonly store: JobStore;
  private readonly worker = newWorkerId();
  private readonly handlers = new Map<string, JobHandler>();
  private readonly running = new Map<string, Running>();
  private state: 'new' | 'started' | 'closing' | 'closed' = 'new';
  private timers: NodeJS.Timeout[] = [];
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly heartbeatMs: number;
  private readonly staleMs: number;
  private readonly maxAttempts: number;
  private readonly graceMs: number;

  constructor(private readonly o: InProcessQueueOptions) {
    this.store = new JobStore(o.db);
    this.clock = o.clock ?? systemClock;
    this.concurrency = positiveInt('concurrency', o.concurrency ?? 1);
    this.pollMs = positiveInt('pollMs', o.pollMs ?? 1000);
    this.heartbeatMs = positiveInt('heartbeatMs', o.heartbeatMs ?? 5000);
    this.staleMs = positiveInt('staleMs', o.staleMs ?? 60_000);
    this.maxAttempts = positiveInt('maxAttempts', o.maxAttempts ?? 3);
    this.graceMs = o.shutdownGraceMs ?? 10_000;
    // A live worker must never look dead: at least two heartbeats fit in the stale window.
    if (this.staleMs < 2 * this.heartbeatMs) throw new ValidationError(`staleMs (${this.staleMs}) must be at least twice heartbeatMs (${this.heartbeatMs})`);
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  register<P, R>(kind: string, handler: JobHandler<P, R>): void {
    assertKind(kind);
    if (this.handlers.has(kind)) throw new ConflictError(`a handler for job kind '${kind}' is already registered`, { kind });
    this.handlers.set(kind, handler as JobHandler);
    this.wake();
  }

  async enqueue<P>(kind: string, payload: P, o: { createdBy: string }): Promise<Job<P>> {
    if (this.state === 'closing' || this.state === 'closed') throw new JobQueueClosedError();
    // Only kinds this process can run: a job nobody handles would sit `queued` forever.
    if (!this.handlers.has(kind)) throw new UnknownJobKindError(kind, [...this.handlers.keys()]);
    const job = await this.store.insert({ kind, payload, createdBy: o.createdBy, now: this.now() });
    this.o.logger.info({ job: job.id, kind }, 'job queued');
    this.wake();
    return job;
  }

  get(id: string): Promise<Job | null> {
    return this.store.get(id);
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'started';
    await this.maintain();
    this.timers = [setInterval(() => this.wake(), this.pollMs), setInterval(() => void this.maintain(), this.heartbeatMs)];
    for (const t of this.timers) t.unref();
    this.wake();
  }

  /** Refreshes our running jobs' heartbeats, then re-queues (or gives up on) other workers' orphaned jobs. */
  private async maintain(): Promise<void> {
    try {
      await this.store.heartbeat([...this.running.keys()], this.worker, this.now());
      const before = new Date(this.clock.now().getTime() - this.staleMs).toISOString();
      const { requeued, failed } = await this.store.reclaimStale(before, this.maxAttempts, this.now());
      if (requeued.length) this.o.logger.warn({ jobs: requeued }, 're-queued jobs whose worker stopped responding');
      if (failed.length) this.o.logger.error({ jobs: failed }, `gave up on jobs whose worker stopped responding ${this.maxAttempts} times`);
      if (requeued.length) this.wake();
    } catch (err) {
      this.o.logger.error({ err }, 'job queue maintenance failed (will retry)');
    }
  }

  private wake(): void {
    if (this.state !== 'started') return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pump()
      .catch((err: unknown) => this.o.logger.error({ err }, 'job queue could not take jobs (will retry)'))
      .finally(() => {
        this.pumping = null;
      });
  }

  /** Claims queued jobs while slots are free. */
  private async pump(): Promise<void> {
    do {
      this.pumpAgain = false;
      while (this.state === 'started' && this.running.size < this.concurrency) {
        const ids = await this.store.nextQueued([...this.handlers.keys()], this.concurrency - this.running.size);
        let took = 0;
        for (const id of ids) {
          if (this.state !== 'started' || this.running.size >= this.concurrency) break;
          if (!(await this.store.claim(id, this.worker, this.now()))) continue; // another worker was faster
          took++;
          await this.run(id);
        }
        if (took === 0) break;
      }
    } while (this.pumpAgain && this.state === 'started');
  }

  private async run(id: string): Promise<void> {
    const job = await this.store.get(id);
    const handler = job && this.handlers.get(job.kind);
    if (!job || !handler) return;
    if (this.state !== 'started') {
      await this.store.requeue(id, this.worker, { refund: true });
      return;
    }
    const abort = new AbortController();
    const logger = this.o.logger.child({ job: id, kind: job.kind });
    const ctx: JobContext = {
      jobId: id,
      progress: async (f) => this.store.progress(id, this.worker, progressFraction(f), this.now()),
      signal: abort.signal,
      logger,
    };
    logger.info({ attempt: job.attempts }, 'job started');
    const done = (async () => {
      try {
        const result = await handler(job.payload, ctx);
        if (await this.store.succeed(id, this.worker, result, this.now())) logger.info('job succeeded');
      } catch (err) {
        const error = jobErrorOf(err);
        logger.warn({ err, code: error.code }, 'job failed');
        await this.store.fail(id, this.worker, error, this.now());
      }
    })()
      .catch((err: unknown) => logger.error({ err }, 'could not record the outcome of a job'))
      .finally(() => {
        this.running.delete(id);
        this.wake();
      });
    this.running.set(id, { abort, done });
  }

  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    for (const t of this.timers) clearInterval(t);
    await this.pumping;
    const all = () => Promise.allSettled([...this.running.values()].map((r) => r.done));
    await Promise.race([all(), sleep(this.graceMs)]);
    // Still running after the grace period: hand the jobs back (not counted as an attempt) and ask them to stop.
    for (const [id, r] of this.running) {
      if (await this.store.requeue(id, this.worker, { refund: true }).catch(() => false)) this.o.logger.warn({ job: id }, 'job re-queued at shutdown');
      r.abort.abort(new JobQueueClosedError());
    }
    await Promise.race([all(), sleep(2000)]);
    this.state = 'closed';
  }
}

export function createInProcessQueue(o: InProcessQueueOptions): JobQueue {
  return new InProcessQueue(o);
}
