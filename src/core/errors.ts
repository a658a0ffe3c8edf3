// Typed errors: every failure a user can cause carries a stable code, a user-facing message and the
// HTTP status the API maps it to. Nothing throws strings; callers match on `code`, not on text.

export class SecondreadError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, httpStatus = 500, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.httpStatus = httpStatus;
    this.details = details;
  }

  /** The body an API or CLI shows: never a stack trace. */
  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export class ConfigError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('config_invalid', message, 500, details);
  }
}

export class ValidationError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_input', message, 400, details);
  }
}

export class NotFoundError extends SecondreadError {
  constructor(what: string, id: string) {
    super('not_found', `${what} '${id}' was not found`, 404, { what, id });
  }
}

export class ConflictError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', message, 409, details);
  }
}

export class InvalidImageError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_image', message, 422, details);
  }
}

export class UnsafeArchiveError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('unsafe_archive', message, 422, details);
  }
}

export class StorageError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('storage_error', message, 503, details, options);
  }
}

/**
 * A dependency the request needs (the database, the object store) cannot be reached right now: the
 * request failed fast and may be retried as is. 503 with Retry-After, so clients and load balancers back off.
 */
export class StorageUnavailableError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('storage_unavailable', message, 503, { retryAfterSeconds: 2, ...details }, options);
  }
}

/** The storage is out of space (ENOSPC, a quota): nothing was written; 507 Insufficient Storage until an operator frees space. */
export class StorageFullError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super('storage_full', message, 507, details, options);
  }
}

/** The first line of a thrown value's message (at most `max` characters): what a wrapped library error shows. */
export function firstLineOf(err: unknown, max = Infinity): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, max);
}

/** A one-line description of any thrown value, for logs and CLI output. */
export function describeError(err: unknown): string {
  if (err instanceof SecondreadError) return `${err.message} [${err.code}]`;
  if (err instanceof Error) return err.message;
  return String(err);
}
