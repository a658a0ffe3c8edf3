// Errors the HTTP boundary raises itself, and THE mapping of every thrown value to a response:
// SecondreadError → its status and stable code; Fastify's own client errors (bad JSON, body too large,
// unknown content type, schema validation) → the same stable codes; anything else → 500 `internal`
// with a generic message. A stack trace never reaches a client; 5xx are logged with theirs.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

import { SecondreadError } from '../core/errors.js';

export class UnauthenticatedError extends SecondreadError {
  constructor(message = 'a valid API token is required (Authorization: Bearer <token>)') {
    super('unauthenticated', message, 401);
  }
}

export class ForbiddenError extends SecondreadError {
  constructor(role: string, allowed: readonly string[]) {
    super('forbidden', `role '${role}' may not call this endpoint (allowed: ${allowed.join(', ')})`, 403, { role, allowed: [...allowed] });
  }
}

export class PayloadTooLargeError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('payload_too_large', message, 413, details);
  }
}

export class UnsupportedMediaTypeError extends SecondreadError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('unsupported_media_type', message, 415, details);
  }
}

/** Decompression-bomb guard: the header declares more pixels than the server decodes. */
export class ImageTooLargeError extends SecondreadError {
  constructor(width: number, height: number, maxPixels: number) {
    super('image_too_large', `image is ${width}×${height} (${width * height} pixels), over the ${maxPixels}-pixel limit`, 422, { width, height, maxPixels });
  }
}

/** A request that arrived after shutdown began (its connection is closed after the answer). */
export class ShuttingDownError extends SecondreadError {
  constructor() {
    super('shutting_down', 'the server is shutting down: retry on another instance', 503, { retryAfterSeconds: 1 });
  }
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  requestId: string;
}

/** Stable codes for the HTTP statuses Fastify and its plugins use for client errors. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'invalid_input',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'unsupported_media_type',
  408: 'request_timeout',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
  503: 'unavailable',
};

/** The response for any thrown value. `log` receives what a 5xx needs for diagnosis (with the stack). */
export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  /** error: a bug or an unexpected failure (logged with its stack); warn: a typed 5xx (overload, storage); debug: the client's fault. */
  logLevel: 'error' | 'warn' | 'debug';
  retryAfterSeconds?: number;
}

/** The response for any thrown value. */
export function toErrorResponse(err: unknown, requestId: string): ErrorResponse {
  if (err instanceof SecondreadError) {
    const body: ErrorBody = { code: err.code, message: err.message, requestId };
    if (err.details) body.details = err.details;
    const retry = err.details?.retryAfterSeconds;
    return {
      status: err.httpStatus,
      body,
      logLevel: err.httpStatus >= 500 ? 'warn' : 'debug',
      retryAfterSeconds: typeof retry === 'number' ? retry : undefined,
    };
  }
  const fe = err as Partial<FastifyError> | null;
  if (fe && typeof fe === 'object' && Array.isArray(fe.validation)) {
    const errors = fe.validation.map((v) => ({ in: fe.validationContext ?? 'request', path: v.instancePath || '/', message: v.message ?? 'is invalid' }));
    return {
      status: 400,
      body: {
        code: 'invalid_input',
        message: `invalid ${fe.validationContext ?? 'request'}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
        details: { errors },
        requestId,
      },
      logLevel: 'debug',
    };
  }
  const status = fe && typeof fe === 'object' && typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Fastify's and @fastify/multipart's client errors carry short, safe messages (no paths, no stacks).
    return {
      status,
      body: { code: CODE_BY_STATUS[status] ?? 'invalid_input', message: firstLine(fe?.message) || 'bad request', requestId },
      logLevel: 'debug',
    };
  }
  return {
    status: 500,
    body: { code: 'internal', message: 'internal error (see the server log for this request id)', requestId },
    logLevel: 'error',
  };
}

/** KServe v2 error body: the protocol's `error` string, plus our stable code and request id (snake_case, as the protocol names its fields). */
export interface KServeErrorBody {
  error: string;
  code: string;
  request_id: string;
}

export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const r = toErrorResponse(err, request.id);
  if (r.logLevel === 'error') request.log.error({ err }, 'request failed');
  else request.log[r.logLevel]({ code: r.body.code, status: r.status }, r.body.message);
  if (r.retryAfterSeconds !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(r.retryAfterSeconds))));
  void reply.code(r.status);
  if (request.routeOptions.config?.kserve)
    return reply.send({ error: r.body.message, code: r.body.code, request_id: r.body.requestId } satisfies KServeErrorBody);
  return reply.send(r.body);
}

function firstLine(s: unknown): string {
  return typeof s === 'string' ? s.split('\n')[0]!.slice(0, 300) : '';
}
