// What can go wrong at the DICOM network edge, typed: a send to a PACS node that failed (and whether
// trying again later can help), and a listener that could not start.
import { SecondreadError } from '../core/errors.js';

/**
 * A result could not be delivered to a PACS node. `retryable`: a network failure, a timeout, a busy
 * peer (DIMSE A7xx, HTTP 5xx/429) — worth another attempt; otherwise the node refused the object itself
 * (DIMSE A9xx/Cxxx/0122, HTTP 4xx) and sending the same bytes again cannot succeed.
 */
export class PacsSendError extends SecondreadError {
  readonly retryable: boolean;
  constructor(node: string, message: string, o: { retryable: boolean; status?: number; cause?: unknown }) {
    super(
      'pacs_send_failed',
      `PACS node '${node}': ${message}`,
      502,
      { node, retryable: o.retryable, ...(o.status !== undefined ? { status: o.status } : {}) },
      { cause: o.cause },
    );
    this.retryable = o.retryable;
  }
}

export class DimseListenError extends SecondreadError {
  constructor(message: string, cause?: unknown) {
    super('dimse_listen_failed', message, 500, undefined, { cause });
  }
}
