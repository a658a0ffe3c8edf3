// The workflow's own failures, each with the HTTP status the API maps it to.
import { SecondreadError } from '../core/errors.js';

/**
 * A transition the state machine does not allow from the study's current state — including the
 * loser of a race, whose compare-and-set found the study already moved on. 409: re-read the study.
 */
export class IllegalTransitionError extends SecondreadError {
  constructor(message: string, details: { studyId: string; from: string; event: string } & Record<string, unknown>) {
    super('illegal_transition', message, 409, details);
  }
}

/** The user's role may not do this (commit this read, open this worklist). */
export class WorkflowForbiddenError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('forbidden', message, 403, details);
  }
}

/** The audit hash chain does not verify: an entry was edited, deleted or reordered. */
export class AuditChainError extends SecondreadError {
  constructor(message: string, details: { seq: number; reason: string }) {
    // 500: stored data is no longer what was written; nothing the caller sent is wrong.
    super('audit_chain_broken', message, 500, details);
  }
}

/** The model reader answered something that is not a well-formed read (a bug in the reader, not the image). */
export class ModelReadInvalidError extends SecondreadError {
  constructor(message: string) {
    super('model_read_invalid', message, 502);
  }
}
