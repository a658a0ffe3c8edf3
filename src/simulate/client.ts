// The simulator's HTTP client: the few workflow routes it drives, as one user (a bearer token), with
// every failure turned into one clear message — the server's JSON error (`{code, message,
// requestId}`) when there is one, else what went wrong on the wire. Only loopback servers: the
// simulator creates users and posts ground truth, which is test traffic, not something to aim at a
// remote installation.
import { isIP } from 'node:net';

import { SecondreadError, ValidationError } from '../core/errors.js';
import type { StudyView } from '../workflow/blinding.js';
import type { WorkflowMetrics } from '../workflow/metrics.js';

/** A request the server answered with an error, or one that never got an answer. */
export class ApiCallError extends SecondreadError {
  constructor(
    message: string,
    /** HTTP status; 0 when there was no answer (connection refused, timeout). */
    readonly status: number,
    /** The server's error code (`illegal_transition`, …) or `unreachable` / `timeout` / `bad_response`. */
    readonly apiCode: string,
    details?: Record<string, unknown>,
  ) {
    super('api_error', message, 502, { status, apiCode, ...details });
  }
}

export class NotLoopbackError extends SecondreadError {
  constructor(url: string, why: string) {
    super(
      'not_loopback',
      `--url must be a loopback address (http://127.0.0.1:<port>, http://[::1]:<port> or http://localhost:<port>): ${why}, got '${url.slice(0, 200)}'`,
      400,
      { url: url.slice(0, 200) },
    );
  }
}

function isLoopbackIp(host: string): boolean {
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1' || /^::ffff:127\./i.test(host);
  return false;
}

/**
 * The base URL of a loopback server, normalized (no trailing slash). Refuses other hosts, names other
 * than `localhost` (a name could resolve anywhere), credentials, queries and fragments.
 */
export function loopbackBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new NotLoopbackError(raw, 'not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new NotLoopbackError(raw, `protocol ${u.protocol} is not http(s)`);
  if (u.username || u.password) throw new NotLoopbackError(raw, 'credentials do not belong in the URL');
  if (u.search || u.hash) throw new NotLoopbackError(raw, 'no query or fragment');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host !== 'localhost' && !isLoopbackIp(host)) throw new NotLoopbackError(raw, `${host} is not a loopback address`);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

export interface ApiClientOptions {
  baseUrl: string;
  token: string;
  /** Per request (default 60 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface NewStudy {
  image: Uint8Array;
  /** `image/png` or `image/jpeg`. */
  contentType: string;
  modality: string;
  priority?: boolean;
  dataset?: { version: string; sha256: string; truthClass: string };
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly o: ApiClientOptions) {
    this.baseUrl = loopbackBaseUrl(o.baseUrl);
    this.timeoutMs = o.timeoutMs ?? 60_000;
    if (!(this.timeoutMs > 0)) throw new ValidationError('request timeout must be positive');
    this.fetchFn = o.fetch ?? fetch;
  }

  /** POST /v1/studies (multipart): the study as the caller sees it. */
  async createStudy(s: NewStudy, signal?: AbortSignal): Promise<StudyView> {
    const form = new FormData();
    form.append('file', new Blob([s.image], { type: s.contentType }), s.contentType === 'image/jpeg' ? 'image.jpg' : 'image.png');
    form.append('modality', s.modality);
    form.append('priority', String(s.priority ?? false));
    if (s.dataset) {
      form.append('datasetVersion', s.dataset.version);
      form.append('datasetSha256', s.dataset.sha256);
      form.append('truthClass', s.dataset.truthClass);
    }
    return (await this.request('POST', '/v1/studies', { body: form, signal })).json() as Promise<StudyView>;
  }

  async getStudy(id: string, signal?: AbortSignal): Promise<StudyView> {
    return (await this.request('GET', `/v1/studies/${encodeURIComponent(id)}`, { signal })).json() as Promise<StudyView>;
  }

  async getStudyImage(id: string, signal?: AbortSignal): Promise<{ bytes: Buffer; contentType: string }> {
    const res = await this.request('GET', `/v1/studies/${encodeURIComponent(id)}/image`, { signal });
    return { bytes: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? '' };
  }

  /** POST /v1/studies/:id/reads: read A for a reader, read B for an adjudicator. */
  async commitRead(id: string, label: string, signal?: AbortSignal): Promise<StudyView> {
    return (await this.request('POST', `/v1/studies/${encodeURIComponent(id)}/reads`, { json: { label }, signal })).json() as Promise<StudyView>;
  }

  async workflowMetrics(since?: string, signal?: AbortSignal): Promise<WorkflowMetrics> {
    const q = since === undefined ? '' : `?since=${encodeURIComponent(since)}`;
    return (await this.request('GET', `/v1/workflow/metrics${q}`, { signal })).json() as Promise<WorkflowMetrics>;
  }

  private async request(method: string, path: string, r: { body?: FormData; json?: unknown; signal?: AbortSignal }): Promise<Response> {
    const what = `${method} ${path.split('?')[0]}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const headers: Record<string, string> = { authorization: `Bearer ${this.o.token}`, accept: 'application/json' };
    if (r.json !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: r.json !== undefined ? JSON.stringify(r.json) : r.body,
        signal: r.signal ? AbortSignal.any([r.signal, timeout]) : timeout,
      });
    } catch (err) {
      if (timeout.aborted) throw new ApiCallError(`${what}: no answer from ${this.baseUrl} within ${this.timeoutMs / 1000} s`, 0, 'timeout');
      if (r.signal?.aborted) throw new ApiCallError(`${what}: cancelled`, 0, 'cancelled');
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiCallError(
        `${what}: cannot reach ${this.baseUrl} (${cause?.code ?? cause?.message ?? (err as Error).message}); is the server running?`,
        0,
        'unreachable',
      );
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let body: { code?: unknown; message?: unknown; requestId?: unknown } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (body && typeof body.code === 'string' && typeof body.message === 'string') {
      const rid = typeof body.requestId === 'string' ? ` (request ${body.requestId})` : '';
      throw new ApiCallError(
        `${what} → ${res.status} ${body.code}: ${body.message}${rid}`,
        res.status,
        body.code,
        typeof body.requestId === 'string' ? { requestId: body.requestId } : undefined,
      );
    }
    const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
    throw new ApiCallError(
      `${what} → ${res.status} ${res.statusText || 'error'}${snippet ? `: ${snippet}` : ''} (not a secondread JSON error: is ${this.baseUrl} a secondread server?)`,
      res.status,
      'bad_response',
    );
  }
}
