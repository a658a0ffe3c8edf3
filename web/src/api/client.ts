// The one way the UI talks to the API: fetch with the session's bearer token, JSON in and out, and
// every failure turned into an ApiError carrying the API's stable `code` (docs/api.md, Errors) —
// including answers that are not our JSON (a proxy's HTML 502) and network failures.

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when no answer came (network down, server gone). */
    readonly status: number,
    /** The API's stable error code (`unauthenticated`, `illegal_transition`, …). */
    readonly code: string,
    message: string,
    readonly requestId: string | null = null,
    readonly details: Record<string, unknown> | null = null,
    /** Seconds from a Retry-After header (429, 503). */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** '' (same origin) in the served UI. */
  baseUrl?: string;
  token?: string | null;
  fetch?: FetchLike;
  /** Called on a 401 to a request that carried the token (the session expired or was revoked), before the error is thrown. */
  onUnauthenticated?: () => void;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

/** `/v1/x` + {a: 1, b: undefined} → `/v1/x?a=1` (values encoded; empty or null values dropped). */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function retryAfter(res: Response): number | null {
  const h = res.headers.get('retry-after');
  if (h === null) return null;
  const s = Number(h);
  if (Number.isFinite(s) && s >= 0) return s;
  const at = Date.parse(h);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** The ApiError for a non-2xx answer: our JSON body when there is one, else a generic one by status. */
export async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null; // not our JSON (a proxy's page): described by its status below
  }
  const b = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const code = typeof b.code === 'string' ? b.code : `http_${res.status}`;
  const message =
    typeof b.message === 'string'
      ? b.message
      : typeof b.error === 'string'
        ? b.error
        : `the server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  const requestId = typeof b.requestId === 'string' ? b.requestId : res.headers.get('x-request-id');
  const details = b.details !== null && typeof b.details === 'object' ? (b.details as Record<string, unknown>) : null;
  return new ApiError(res.status, code, message, requestId, details, retryAfter(res));
}

export class ApiClient {
  private readonly baseUrl: string;
  private readonly fetchFn: FetchLike;

  constructor(private readonly o: ApiClientOptions = {}) {
    this.baseUrl = o.baseUrl ?? '';
    // Bound: window.fetch called as a method of another object throws "Illegal invocation".
    this.fetchFn = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  get token(): string | null {
    return this.o.token ?? null;
  }

  /** The raw response of a successful request; an ApiError otherwise. */
  async send(
    method: string,
    path: string,
    o: { query?: Query; json?: unknown; body?: BodyInit; accept?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: o.accept ?? 'application/json' };
    if (this.o.token) headers.authorization = `Bearer ${this.o.token}`;
    let body = o.body;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    }
    let res: Response;
    try {
      res = await this.fetchFn(this.baseUrl + withQuery(path, o.query), { method, headers, body, signal: o.signal });
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'network_error', 'the server could not be reached (network down, or the server is not running)');
    }
    if (res.ok) return res;
    const error = await errorFrom(res);
    // Only a request that carried a token can mean "the session ended" (a failed login is a 401 too).
    if (res.status === 401 && this.o.token) this.o.onUnauthenticated?.();
    throw error;
  }

  async json<T>(method: string, path: string, o: { query?: Query; json?: unknown; signal?: AbortSignal } = {}): Promise<T> {
    const res = await this.send(method, path, o);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(res.status, 'bad_response', `the server answered ${method} ${path} with something that is not JSON`, res.headers.get('x-request-id'));
    }
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.json<T>('GET', path, { query, signal });
  }

  post<T>(path: string, json?: unknown, signal?: AbortSignal): Promise<T> {
    return this.json<T>('POST', path, { json: json ?? {}, signal });
  }

  async blob(path: string, query?: Query, signal?: AbortSignal): Promise<Blob> {
    return (await this.send('GET', path, { query, accept: 'image/*', signal })).blob();
  }

  async text(path: string, query?: Query, signal?: AbortSignal): Promise<string> {
    return (await this.send('GET', path, { query, accept: 'text/plain', signal })).text();
  }
}

/** A sentence for people: the server's message, and what to do for the codes a user can act on. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  switch (err.code) {
    case 'unauthenticated':
      return 'Your session has ended. Please sign in again.';
    case 'forbidden':
      return 'Your role may not do this.';
    case 'rate_limited':
      return `Too many attempts. Try again${err.retryAfterSeconds !== null ? ` in ${Math.ceil(err.retryAfterSeconds / 60)} min` : ' later'}.`;
    case 'network_error':
      return 'The server could not be reached. Check that it is running and try again.';
    default:
      return err.message;
  }
}
