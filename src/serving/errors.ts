// Serving's own failures. Each maps to the HTTP status a client can act on: 503 + Retry-After when
// the queue is full or the model is still loading, 504 when a request waited past its deadline, 499
// (nginx's "client closed request") when nobody is left to answer.
import { SecondreadError } from '../core/errors.js';

export class QueueFullError extends SecondreadError {
  constructor(message: string, details: { retryAfterSeconds: number; queueSize: number } & Record<string, unknown>) {
    super('queue_full', message, 503, details);
  }
  get retryAfterSeconds(): number {
    return this.details!.retryAfterSeconds as number;
  }
}

export class InferenceTimeoutError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('inference_timeout', message, 504, details);
  }
}

export class ClientGoneError extends SecondreadError {
  constructor(message = 'the client went away before the request was computed', details?: Record<string, unknown>) {
    super('client_gone', message, 499, details);
  }
}

/** The model is not loaded (yet), or the server is draining: try again shortly. */
export class ModelNotReadyError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('model_not_ready', message, 503, details);
  }
}

/** A detector asked for class probabilities (or the reverse): the caller needs the other kind of model. */
export class ModelTaskError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('model_task_mismatch', message, 409, details);
  }
}
