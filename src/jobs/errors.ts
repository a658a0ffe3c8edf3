// What a failed job records: `{code, message}` — the SecondreadError's own code and user-facing message, or a generic
// code with the error's one-line message for anything else. Never a stack trace: the record is shown by the API.
import { SecondreadError } from '../core/errors.js';
import type { JobError } from './types.js';

/** A job's handler threw something that is not a SecondreadError. */
export const JOB_FAILED = 'job_failed';
/** The job's worker stopped heart-beating (process killed, machine lost) more often than the queue retries. */
export const WORKER_LOST = 'worker_lost';

export class UnknownJobKindError extends SecondreadError {
  constructor(kind: string, known: readonly string[]) {
    super('unknown_job_kind', `no handler is registered for job kind '${kind}' (known: ${known.join(', ') || 'none'})`, 400, { kind, known: [...known] });
  }
}

export class JobQueueClosedError extends SecondreadError {
  constructor() {
    super('queue_closed', 'the job queue is shutting down and takes no new jobs', 503);
  }
}

export function jobErrorOf(err: unknown): JobError {
  if (err instanceof SecondreadError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  // First line only: some libraries put a trace or a dump of their state after the message.
  return { code: JOB_FAILED, message: (message.split('\n')[0] ?? '').slice(0, 2000) || 'the job failed' };
}
