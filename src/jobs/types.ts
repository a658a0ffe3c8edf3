// The job queue's contract: what the API, the CLI and the evaluation service see, whichever backend runs the jobs
// (the embedded in-process queue persisted in the DB, or BullMQ on Redis with its state mirrored into the DB).
import type { Logger } from '../core/logger.js';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** What a failed job reports: a stable code and a user-facing message, never a stack trace. */
export interface JobError {
  code: string;
  message: string;
}

export interface Job<P = unknown, R = unknown> {
  id: string;
  kind: string;
  payload: P;
  status: JobStatus;
  /** 0…1. */
  progress: number;
  result: R | null;
  error: JobError | null;
  /** How many times a worker started the job (a job re-queued after its worker died counts again). */
  attempts: number;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobContext {
  /** The job being run (its row in `jobs`). */
  jobId: string;
  /** Report progress 0…1 (stored; also refreshes the job's heartbeat). */
  progress(fraction: number): Promise<void>;
  /** Aborted when the queue closes and the job should stop early. */
  signal: AbortSignal;
  logger: Logger;
}

export type JobHandler<P = unknown, R = unknown> = (payload: P, ctx: JobContext) => Promise<R>;

export interface JobQueue {
  register<P, R>(kind: string, handler: JobHandler<P, R>): void;
  enqueue<P>(kind: string, payload: P, o: { createdBy: string }): Promise<Job<P>>;
  get(id: string): Promise<Job | null>;
  /** Begin processing (in-process) / attach the worker (BullMQ, when this process is a worker). */
  start(): Promise<void>;
  /** Stop taking jobs, finish or re-queue the running ones. */
  close(): Promise<void>;
}
