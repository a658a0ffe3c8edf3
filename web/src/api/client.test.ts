import { describe, expect, it } from 'vitest';

import { ApiClient, ApiError, describeError, type FetchLike, withQuery } from './client.js';

type Call = { url: string; init: RequestInit };

function fakeFetch(answer: (call: Call) => Response | Promise<Response>): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init = {}) => {
      const call = { url, init };
      calls.push(call);
      return answer(call);
    },
  };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

async function caught(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

describe('ApiClient', () => {
  it('sends the bearer token, JSON bodies and queries; parses JSON answers; 204 is undefined', async () => {
    const f = fakeFetch(({ url }) => (url.endsWith('/logout') ? new Response(null, { status: 204 }) : json(200, { ok: true })));
    const api = new ApiClient({ token: 'sr_abc', fetch: f.fetch, baseUrl: 'http://h' });
    expect(await api.post('/v1/studies/s1/reads', { label: 'lung-normal' })).toEqual({ ok: true });
    expect(f.calls[0]!.url).toBe('http://h/v1/studies/s1/reads');
    expect(f.calls[0]!.init.method).toBe('POST');
    expect(f.calls[0]!.init.body).toBe('{"label":"lung-normal"}');
    expect(f.calls[0]!.init.headers).toMatchObject({ authorization: 'Bearer sr_abc', 'content-type': 'application/json' });
    await api.get('/v1/worklists/A', { limit: 50, before: undefined, q: 'a b&c' });
    expect(f.calls[1]!.url).toBe('http://h/v1/worklists/A?limit=50&q=a+b%26c');
    expect(await api.post('/v1/auth/logout')).toBeUndefined();
    expect(new ApiClient({ fetch: f.fetch }).token).toBeNull();
  });

  it("turns the API's error JSON into an ApiError with its code, request id, details and Retry-After", async () => {
    const f = fakeFetch(() =>
      json(409, { code: 'illegal_transition', message: 'study is adjudicated', details: { state: 'adjudicated' }, requestId: 'req_1' }),
    );
    const err = await caught(new ApiClient({ fetch: f.fetch }).post('/v1/studies/s/reads', { label: 'x' }));
    expect([err.status, err.code, err.message, err.requestId, err.details]).toEqual([
      409,
      'illegal_transition',
      'study is adjudicated',
      'req_1',
      { state: 'adjudicated' },
    ]);
    const limited = await caught(
      new ApiClient({
        fetch: fakeFetch(() => json(429, { code: 'rate_limited', message: 'slow down', requestId: 'r' }, { 'retry-after': '600' })).fetch,
      }).post('/v1/auth/login', {}),
    );
    expect([limited.code, limited.retryAfterSeconds]).toEqual(['rate_limited', 600]);
    expect(describeError(limited)).toBe('Too many attempts. Try again in 10 min.');
  });

  it('answers that are not our JSON (a proxy page, an empty body) still give a coded error', async () => {
    const html = await caught(
      new ApiClient({
        fetch: fakeFetch(() => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway', headers: { 'x-request-id': 'req_p' } }))
          .fetch,
      }).get('/v1/x'),
    );
    expect([html.status, html.code, html.message, html.requestId]).toEqual([502, 'http_502', 'the server answered 502 Bad Gateway', 'req_p']);
    const kserve = await caught(new ApiClient({ fetch: fakeFetch(() => json(400, { error: 'bad tensor' })).fetch }).get('/v2/x'));
    expect([kserve.code, kserve.message]).toEqual(['http_400', 'bad tensor']);
    const notJson = await caught(new ApiClient({ fetch: fakeFetch(() => new Response('hello', { status: 200 })).fetch }).get('/v1/x'));
    expect(notJson.code).toBe('bad_response');
  });

  it('a network failure is an ApiError with status 0; an abort stays an abort', async () => {
    const down = await caught(new ApiClient({ fetch: async () => Promise.reject(new TypeError('Failed to fetch')) }).get('/v1/x'));
    expect([down.status, down.code]).toEqual([0, 'network_error']);
    expect(describeError(down)).toMatch(/could not be reached/);
    const abort = new ApiClient({ fetch: async () => Promise.reject(new DOMException('aborted', 'AbortError')) }).get('/v1/x');
    await expect(abort).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('401 with a token calls onUnauthenticated (the app signs out) and still throws; a failed login does not', async () => {
    let signedOut = 0;
    const api = new ApiClient({
      token: 't',
      fetch: fakeFetch(() => json(401, { code: 'unauthenticated', message: 'no', requestId: 'r' })).fetch,
      onUnauthenticated: () => signedOut++,
    });
    const err = await caught(api.get('/v1/auth/me'));
    expect([err.code, signedOut]).toEqual(['unauthenticated', 1]);
    expect(describeError(err)).toMatch(/sign in again/);
    const login = await caught(
      new ApiClient({
        fetch: fakeFetch(() => json(401, { code: 'invalid_credentials', message: 'no', requestId: 'r' })).fetch,
        onUnauthenticated: () => signedOut++,
      }).post('/v1/auth/login', {}),
    );
    expect([login.code, signedOut]).toEqual(['invalid_credentials', 1]);
    const forbidden = await caught(
      new ApiClient({
        fetch: fakeFetch(() => json(403, { code: 'forbidden', message: 'm', requestId: 'r' })).fetch,
        onUnauthenticated: () => signedOut++,
      }).get('/x'),
    );
    expect([forbidden.code, signedOut]).toEqual(['forbidden', 1]);
  });

  it('blob and text answers', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    const f = fakeFetch(({ url }) => (url.includes('image') ? new Response(png, { headers: { 'content-type': 'image/png' } }) : new Response('m 1\n')));
    const api = new ApiClient({ fetch: f.fetch });
    const blob = await api.blob('/v1/studies/s/image');
    expect([blob.type, new Uint8Array(await blob.arrayBuffer())]).toEqual(['image/png', png]);
    expect(await api.text('/metrics')).toBe('m 1\n');
    expect((f.calls[0]!.init.headers as Record<string, string>).accept).toBe('image/*');
  });

  it('withQuery drops empty values', () => {
    expect(withQuery('/p', { a: '', b: null, c: 0, d: false })).toBe('/p?c=0&d=false');
    expect(withQuery('/p')).toBe('/p');
  });
});
