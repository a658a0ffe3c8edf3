// App-wide behaviour: the OpenAPI document covers every route with schemas, auth is on by default,
// errors are JSON with a stable code and the request id and never a stack, HTTP metrics are kept.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ApiFixture, openApiFixture } from './testing/fixture.js';

let f: ApiFixture;
beforeAll(async () => {
  f = await openApiFixture();
});
afterAll(async () => {
  await f.close();
});

interface OpenApiDoc {
  paths: Record<
    string,
    Record<string, { responses?: Record<string, unknown>; security?: unknown[]; parameters?: unknown[]; requestBody?: { content: Record<string, unknown> } }>
  >;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
}

/** `METHOD /full/path` of every route, from Fastify's route tree print-out (HEAD twins left out). */
function servedRoutes(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    for (const method of m[3]!.split(', ')) if (method !== 'HEAD') out.push(`${method} ${stack.join('')}`);
  }
  return out;
}

const PUBLIC = ['GET /healthz', 'GET /readyz', 'GET /v2/health/live', 'GET /v2/health/ready', 'POST /v1/auth/login'];
/** Routes whose success is not 200. */
const SUCCESS: Record<string, string> = { 'POST /v1/evaluations': '202', 'POST /v1/studies': '201', 'POST /v1/auth/logout': '204' };

describe('the OpenAPI document', () => {
  it('lists every route the app serves, each with response schemas, and bearer security on the non-public ones', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<OpenApiDoc>();
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const served = servedRoutes(f.app.printRoutes({ commonPrefix: false })).filter((r) => !r.includes(' /docs'));
    expect(served.length).toBeGreaterThanOrEqual(40);
    expect(new Set(documented)).toEqual(new Set(served));
    for (const r of [
      'POST /v1/models/:name/predict',
      'POST /v1/models/:name/predict/batch',
      'GET /v2/models/:name',
      'GET /v2/models/:name/versions/:version',
      'GET /v2/models/:name/ready',
      'POST /v2/models/:name/infer',
      'POST /v1/evaluations',
      'GET /v1/evaluations/:id',
      'GET /metrics',
      'POST /v1/studies',
      'GET /v1/studies',
      'GET /v1/studies/:id',
      'GET /v1/studies/:id/image',
      'POST /v1/studies/:id/reads',
      'GET /v1/studies/:id/audit',
      'GET /v1/worklists/A',
      'GET /v1/worklists/B',
      'GET /v1/workflow/metrics',
      'GET /v1/policies',
      'GET /v1/policies/:id',
      'GET /v1/studies/:id/saliency',
      'POST /v1/auth/logout',
      'GET /v1/auth/me',
      'GET /v1/datasets',
      'GET /v1/datasets/:id',
      'GET /v1/runs',
      'GET /v1/runs/:id/metrics',
      'POST /v1/models/:name/aliases/:alias',
      'POST /v1/models/:name/aliases/:alias/rollback',
      ...PUBLIC,
    ]) {
      expect(documented).toContain(r);
    }
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const key = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;
        expect(Object.keys(op.responses ?? {}), key).toContain(SUCCESS[key] ?? '200');
        if (PUBLIC.includes(key)) expect(op.security, key).toBeUndefined();
        else expect(op.security, key).toEqual([{ bearer: [] }]);
      }
    }
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const predict = doc.paths['/v1/models/{name}/predict']!.post!;
    expect(Object.keys(predict.requestBody!.content).sort()).toEqual([
      'application/dicom',
      'application/octet-stream',
      'image/jpeg',
      'image/png',
      'multipart/form-data',
    ]);
    expect(JSON.stringify(predict.requestBody!.content['multipart/form-data'])).toContain('"format":"binary"');
    expect(JSON.stringify(predict.requestBody!.content['image/png'])).toContain('"format":"binary"');
  });

  it('serves the docs page without a token', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('auth', () => {
  it('401 without or with a bad token, 200 with any role on a predict-level route', async () => {
    for (const headers of [{}, { authorization: 'Bearer sr_nope' }, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: `Bearer ${f.tokens.reader}x` }]) {
      const res = await f.app.inject({ method: 'GET', url: '/v1/models', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'unauthenticated', requestId: expect.any(String) });
    }
    for (const role of ['reader', 'adjudicator', 'engineer', 'admin'] as const) {
      expect((await f.app.inject({ method: 'GET', url: '/v1/models', headers: f.auth(role) })).statusCode).toBe(200);
    }
  });

  it('a revoked token is refused at once', async () => {
    const { token, tokenId } = await f.users.addUser({ name: 'temp', role: 'reader' });
    const headers = { authorization: `Bearer ${token}` };
    expect((await f.app.inject({ method: 'GET', url: '/v1/models', headers })).statusCode).toBe(200);
    await f.users.revokeToken(tokenId);
    expect((await f.app.inject({ method: 'GET', url: '/v1/models', headers })).statusCode).toBe(401);
  });
});

describe('errors', () => {
  it('unknown routes are a JSON 404 (no token needed to learn that)', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/nope/../etc/passwd' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'not_found', requestId: res.headers['x-request-id'] });
  });

  it('keeps a plain client request id, replaces an unsafe one', async () => {
    const kept = await f.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'upstream-1234.abc' } });
    expect(kept.headers['x-request-id']).toBe('upstream-1234.abc');
    const replaced = await f.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': '<script>alert(1)</script>' } });
    expect(replaced.headers['x-request-id']).toMatch(/^req_[0-9a-z]+$/);
  });

  it('an unexpected failure is a 500 `internal` without the message or a stack', async () => {
    f.serving.before = async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'secret') at /srv/app/x.js:1:2");
    };
    try {
      const res = await f.app.inject({ method: 'GET', url: '/v2/models/cxr', headers: f.auth() });
      expect(res.statusCode).toBe(200); // describe does not call `before`
      const infer = await f.app.inject({
        method: 'POST',
        url: '/v2/models/cxr/infer',
        headers: f.auth(),
        payload: { inputs: [{ name: 'pixels', shape: [1, 1, 8, 8], datatype: 'FP32', data: new Array(64).fill(0) }] },
      });
      expect(infer.statusCode).toBe(500);
      expect(infer.json()).toEqual({
        error: 'internal error (see the server log for this request id)',
        code: 'internal',
        request_id: infer.headers['x-request-id'],
      });
      expect(infer.body).not.toMatch(/secret|\/srv|at /);
    } finally {
      f.serving.before = undefined;
    }
  });
});

describe('HTTP metrics', () => {
  it('observes each request under its route template and status', async () => {
    await f.app.inject({ method: 'GET', url: '/v2/models/cxr', headers: f.auth() });
    await f.app.inject({ method: 'GET', url: '/v2/models/unknown-model', headers: f.auth() });
    const text = await f.metrics.render();
    expect(text).toMatch(/secondread_http_request_duration_seconds_count\{method="GET",route="\/v2\/models\/:name",status_code="200"\} [1-9]/);
    expect(text).toMatch(/secondread_http_request_duration_seconds_count\{method="GET",route="\/v2\/models\/:name",status_code="404"\} [1-9]/);
    expect(text).not.toContain('unknown-model');
  });
});

describe('with the web UI', () => {
  it('serves the app at / and on client-side routes, while API typos stay JSON 404s and API routes keep their auth', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secondread-web-'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>secondread</title><div id="root"></div>');
    const w = await openApiFixture({ deps: { web: { dir } } });
    try {
      for (const url of ['/', '/worklist', '/studies/st_1']) {
        const res = await w.app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBe(200);
        expect(res.body).toContain('<div id="root">');
      }
      const typo = await w.app.inject({ method: 'GET', url: '/v1/studiez' });
      expect(typo.statusCode).toBe(404);
      expect(typo.json()).toMatchObject({ code: 'not_found' });
      expect((await w.app.inject({ method: 'GET', url: '/v1/worklists/A' })).statusCode).toBe(401);
    } finally {
      await w.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
