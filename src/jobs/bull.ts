// The scale-out job queue: BullMQ on Redis. Redis decides which worker runs a job (locks, stalled-job detection,
// any number of `secondread worker` processes); the `jobs` table mirrors every job's state, so `get(id)` — and the
// API — read the DB as with the embedded queue, and a job's result/error outlives Redis's retention.
//
// Mirroring: the producer inserts the row (queued) before it adds the job to Redis; the worker marks it running
// (attempts + 1), writes progress, and writes the result or `{code, message}` itself. A job whose worker died is
// found by another worker's stalled check and put back in the wait list (the row says `running` with a stale
// heartbeat until a worker takes it again, attempts + 1); after `maxAttempts` starts BullMQ fails it and the row
// records `worker_lost`.
import { type Job as BullJob, Queue, WaitingError, Worker } from 'bullmq';
import { Redis } from 'ioredis';

import { type Clock, systemClock } from '../core/clock.js';
import { ConfigError, ConflictError, SecondreadError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redactUrl } from '../core/redact.js';
import type { Db } from '../storage/db.js';
import { jobErrorOf, JobQueueClosedError, UnknownJobKindError, WORKER_LOST } from './errors.js';
import { progressFraction } from './in-process.js';
import { assertKind, JobStore, newWorkerId } from './store.js';
import type { Job, JobContext, JobHandler, JobQueue } from './types.js';

export const DEFAULT_QUEUE_NAME = 'secondread-jobs';
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export class QueueUnavailableError extends SecondreadError {
  constructor(message: string) {
    super('queue_unavailable', message, 503, { retryAfterSeconds: 2 }); // the API sends it as Retry-After
  }
}

export interface BullQueueOptions {
  db: Db;
  logger: Logger;
  /** redis:// or rediss:// URL. */
  redisUrl: string;
  queueName?: string;
  /** Jobs this worker runs at once (default 1). */
  concurrency?: number;
  /** true: `start()` attaches a worker that runs jobs here; false: this process only enqueues and reads. */
  worker: boolean;
  clock?: Clock;
  /** Starts before a job whose worker keeps dying is failed (default 3). */
  maxAttempts?: number;
  /** A worker that has not renewed a job's lock for this long is presumed dead (default 30000 ms). */
  lockDurationMs?: number;
  /** How often workers look for such jobs (default 15000 ms). */
  stalledIntervalMs?: number;
  /** `close` waits this long for running jobs before aborting them (default 10000 ms). */
  shutdownGraceMs?: number;
  /** An enqueue that Redis has not acknowledged after this long fails with queue_unavailable (default 5000 ms). */
  enqueueTimeoutMs?: number;
}

interface Payload {
  payload: unknown;
}

export function assertRedisUrl(url: string): string {
  if (typeof url !== 'string' || !/^rediss?:\/\/[^\s]+$/.test(url))
    throw new ConfigError(`the Redis URL must start with redis:// or rediss:// (got '${String(url).split(':')[0]}:…')`);
  return url;
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

class BullJobQueue implements JobQueue {
  private readonly store: JobStore;
  private readonly workerId = newWorkerId();
  private readonly handlers = new Map<string, JobHandler>();
  private readonly running = new Map<string, AbortController>();
  private readonly name: string;
  private readonly clock: Clock;
  private readonly connections: Redis[] = [];
  private queue: Queue | undefined;
  private worker: Worker | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(private readonly o: BullQueueOptions) {
    assertRedisUrl(o.redisUrl);
    this.name = o.queueName ?? DEFAULT_QUEUE_NAME;
    if (!QUEUE_NAME.test(this.name)) throw new ValidationError(`invalid queue name '${this.name}' (letters, digits, '_', '-')`);
    const c = o.concurrency ?? 1;
    if (!Number.isInteger(c) || c < 1) throw new ValidationError(`concurrency must be a positive integer, got ${c}`);
    const a = o.maxAttempts ?? 3;
    if (!Number.isInteger(a) || a < 1) throw new ValidationError(`maxAttempts must be a positive integer, got ${a}`);
    this.store = new JobStore(o.db);
    this.clock = o.clock ?? systemClock;
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  /** One ioredis connection per BullMQ object; BullMQ needs maxRetriesPerRequest null (it blocks on some commands). */
  private connect(): Redis {
    const r = new Redis(this.o.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    let last = 0;
    r.on('error', (err: Error) => {
      // ioredis retries forever; one line every 10 s is enough to tell the operator.
      if (Date.now() - last > 10_000) this.o.logger.warn({ err: err.message, redis: redactUrl(this.o.redisUrl) }, 'Redis connection error (retrying)');
      last = Date.now();
    });
    this.connections.push(r);
    return r;
  }

  private producer(): Queue {
    if (!this.queue) {
      this.queue = new Queue(this.name, { connection: this.connect() });
      this.queue.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'BullMQ queue error'));
    }
    return this.queue;
  }

  register<P, R>(kind: string, handler: JobHandler<P, R>): void {
    assertKind(kind);
    if (this.handlers.has(kind)) throw new ConflictError(`a handler for job kind '${kind}' is already registered`, { kind });
    this.handlers.set(kind, handler as JobHandler);
  }

  async enqueue<P>(kind: string, payload: P, o: { createdBy: string }): Promise<Job<P>> {
    if (this.closing) throw new JobQueueClosedError();
    // In a worker the handlers are known; an API process may enqueue kinds only the workers register.
    if (this.o.worker && !this.handlers.has(kind)) throw new UnknownJobKindError(kind, [...this.handlers.keys()]);
    const job = await this.store.insert({ kind, payload, createdBy: o.createdBy, now: this.now() });
    try {
      await withTimeout(
        this.producer().add(kind, { payload } satisfies Payload, {
          jobId: job.id,
          attempts: 1,
          stackTraceLimit: 0,
          removeOnComplete: { age: 3600 },
          removeOnFail: { age: 24 * 3600 },
        }),
        this.o.enqueueTimeoutMs ?? 5000,
        () => new QueueUnavailableError(`the job queue (Redis at ${redactUrl(this.o.redisUrl)}) did not answer; try again later`),
      );
    } catch (err) {
      const error = err instanceof QueueUnavailableError ? err : new QueueUnavailableError(`the job queue could not take the job: ${jobErrorOf(err).message}`);
      // The row must not stay `queued` for a job Redis never got (should Redis still take it later, the worker
      // sees a failed row and skips it).
      await this.store.fail(job.id, null, { code: error.code, message: error.message }, this.now());
      throw error;
    }
    this.o.logger.info({ job: job.id, kind, queue: this.name }, 'job queued');
    return job;
  }

  get(id: string): Promise<Job | null> {
    return this.store.get(id);
  }

  async start(): Promise<void> {
    if (!this.o.worker || this.worker || this.closing) return;
    const lockDuration = this.o.lockDurationMs ?? 30_000;
    this.worker = new Worker(this.name, (job, token, signal) => this.process(job, token, signal), {
      connection: this.connect(),
      concurrency: this.o.concurrency ?? 1,
      lockDuration,
      stalledInterval: this.o.stalledIntervalMs ?? Math.max(1000, Math.floor(lockDuration / 2)),
      // A stalled job goes back to the wait list this many times, then fails.
      maxStalledCount: (this.o.maxAttempts ?? 3) - 1,
    });
    this.worker.on('error', (err: Error) => this.o.logger.warn({ err: err.message }, 'BullMQ worker error'));
    this.worker.on('stalled', (id: string) => {
      // The row stays `running` until a worker takes the job again (attempts + 1): re-queueing it here could race
      // with that worker and set a running job back to queued.
      this.o.logger.warn({ job: id }, 'job stalled (its worker stopped renewing the lock): back in the wait list');
    });
    this.worker.on('failed', (job: BullJob | undefined, err: Error) => {
      // Failures of a running handler are recorded by `process`; this catches the ones BullMQ decides alone
      // (a job that stalled too often). `fail` only touches a row still queued/running.
      if (!job?.id) return;
      const error = /stalled/i.test(err.message)
        ? { code: WORKER_LOST, message: `the job's worker stopped responding ${this.o.maxAttempts ?? 3} time(s); giving up` }
        : jobErrorOf(err);
      void this.store
        .fail(job.id, null, error, this.now())
        .catch((e: unknown) => this.o.logger.error({ err: e, job: job.id }, 'could not mirror a failed job'));
    });
    // The DB heartbeat only informs readers (BullMQ's lock decides liveness here).
    this.heartbeat = setInterval(() => void this.store.heartbeat([...this.running.keys()], this.workerId, this.now()).catch(() => undefined), 5000);
    this.heartbeat.unref();
    await this.worker.waitUntilReady();
    this.o.logger.info({ queue: this.name, concurrency: this.o.concurrency ?? 1 }, 'job worker started');
  }

  private async process(bull: BullJob, token: string | undefined, bullSignal?: AbortSignal): Promise<null> {
    const id = bull.id!;
    const logger = this.o.logger.child({ job: id, kind: bull.name });
    const handler = this.handlers.get(bull.name);
    if (!handler) {
      const error = new UnknownJobKindError(bull.name, [...this.handlers.keys()]);
      await this.store.fail(id, null, jobErrorOf(error), this.now());
      throw error;
    }
    if (!(await this.store.markRunning(id, this.workerId, this.now()))) {
      // No row, or one already finished (e.g. failed because Redis answered the enqueue too late): nothing to run.
      logger.warn('job has no queued row in the DB; skipped');
      return null;
    }
    const abort = new AbortController();
    bullSignal?.addEventListener('abort', () => abort.abort(bullSignal.reason));
    this.running.set(id, abort);
    const ctx: JobContext = {
      jobId: id,
      progress: async (f) => {
        const fraction = progressFraction(f);
        await this.store.progress(id, this.workerId, fraction, this.now());
        await bull.updateProgress(fraction);
      },
      signal: abort.signal,
      logger,
    };
    logger.info({ attempt: bull.attemptsStarted }, 'job started');
    try {
      const result = await handler((bull.data as Payload).payload, ctx);
      await this.store.succeed(id, this.workerId, result, this.now());
      logger.info('job succeeded');
      return null; // the result lives in the DB; Redis keeps no copy
    } catch (err) {
      if (abort.signal.reason instanceof JobQueueClosedError) {
        // Handed back at shutdown (the row is queued again): back to Redis's wait list for another worker.
        await bull.moveToWait(token);
        throw new WaitingError();
      }
      const error = jobErrorOf(err);
      logger.warn({ err, code: error.code }, 'job failed');
      await this.store.fail(id, this.workerId, error, this.now());
      throw err;
    } finally {
      this.running.delete(id);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    if (this.worker) {
      const w = this.worker;
      const grace = this.o.shutdownGraceMs ?? 10_000;
      const closed = w.close();
      const finished = await withTimeout(
        closed.then(() => true),
        grace,
        () => new Error('grace period over'),
      ).catch(() => false);
      if (!finished) {
        // Hand the running jobs back: their rows go back to queued (not counted as a failed attempt) and the
        // handlers are asked to stop; a handler that stops puts its job back in the wait list (see process).
        for (const [id, abort] of this.running) {
          await this.store.requeue(id, this.workerId, { refund: true }).catch(() => false);
          abort.abort(new JobQueueClosedError());
          this.o.logger.warn({ job: id }, 'job handed back at shutdown');
        }
        // A handler that ignores the signal is left behind: its lock lapses and another worker's stalled check
        // re-runs the job.
        const stopped = await withTimeout(
          closed.then(() => true),
          2000,
          () => new Error('handlers did not stop'),
        ).catch(() => false);
        if (!stopped) await w.close(true).catch(() => undefined);
      }
      await closed.catch((err: unknown) => this.o.logger.warn({ err }, 'closing the BullMQ worker failed'));
    }
    await this.queue?.close().catch((err: unknown) => this.o.logger.warn({ err }, 'closing the BullMQ queue failed'));
    await Promise.all(this.connections.map((r) => r.quit().catch(() => r.disconnect())));
  }
}

export function createBullQueue(o: BullQueueOptions): JobQueue {
  return new BullJobQueue(o);
}
