// Every route × method of the OpenAPI document the app serves, fuzzed with generated bad requests
// (testing/fuzz.ts, fast-check) on SQLite: whatever comes in, the answer is below 500 and carries the
// security headers, an error is JSON with a stable `code` (DICOMweb included: its errors use the same
// body; KServe's readiness "not ready" 400 is the protocol's answer), and no body holds a stack frame or a
// file path. Bounded: FUZZ_RUNS requests per operation (default 40), seeded by FUZZ_SEED (default below);
// a failure names the seed, the shrunk request and the server's log line, so it replays exactly.
// fuzz.integration.test.ts runs the same on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fuzzEveryOperation, type FuzzTarget, fuzzUnknownPaths, openFuzzTarget } from './testing/fuzz.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_206);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);

let t: FuzzTarget;
let f: FuzzTarget['f'];
beforeAll(async () => {
  t = await openFuzzTarget();
  f = t.f;
});
afterAll(async () => {
  await t?.f.close();
});

describe('fuzzing every route of the OpenAPI document', () => {
  it(`answers every generated bad request below 500 with a JSON error code and no stack (FUZZ_SEED=${SEED}, ${RUNS} runs per operation)`, async () => {
    expect(t.ops.length).toBeGreaterThanOrEqual(60);
    expect(t.ops.map((o) => o.path)).toEqual(expect.arrayContaining(['/v1/pacs/exports', '/dicomweb/studies', '/v1/auth/login', '/v2/models/{name}/infer']));
    const r = await fuzzEveryOperation(t, { seed: SEED, runs: RUNS });
    expect(r.failures, r.failures.join('\n\n')).toEqual([]);
    // The fuzz is not only bounced at the door: every operation that needs a token got past
    // authentication at least once (some status other than 401), so its own validation was exercised.
    expect(r.stuck).toEqual([]);
    expect(r.requests).toBe(t.ops.length * RUNS);
  }, 120_000);

  it('answers unknown paths and methods alike (404 as JSON with a code)', async () => {
    expect(await fuzzUnknownPaths(t, { seed: SEED, runs: RUNS * 4 })).toBeNull();
  });

  // What earlier fuzz runs found, pinned as plain examples.
  describe('regressions found by fuzzing', () => {
    it('a URL with bad percent-escapes, or a path parameter over the length limit, gets our JSON error (not Fastify’s FST_ body)', async () => {
      const bad = await f.app.inject({ method: 'GET', url: '/v1/datasets/%ff/samples', headers: f.auth('admin') });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'invalid_input', requestId: bad.headers['x-request-id'] });
      const long = await f.app.inject({ method: 'GET', url: `/v1/datasets/${'x'.repeat(300)}`, headers: f.auth('admin') });
      expect(long.statusCode).toBe(414);
      expect(long.json()).toMatchObject({ code: 'uri_too_long' });
      // Fastify answers these without running hooks: the security headers are set by the handler itself.
      expect(long.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' });
      expect(bad.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    });

    it('QIDO-RS: an ignored query key with control or non-ASCII characters goes into the Warning header as printable ASCII', async () => {
      const res = await f.app.inject({ method: 'GET', url: '/dicomweb/studies?%00%0D=%ff&caf%C3%A9%22=1', headers: f.auth('reader') });
      expect(res.statusCode).toBe(200);
      expect(res.headers.warning).toMatch(/^299 secondread "The following query keys are not supported and were ignored: \?\?, caf\?\?"$/);
    });

    it('QIDO-RS: an offset beyond 2^53 is refused as invalid input (a huge limit is still capped)', async () => {
      const res = await f.app.inject({ method: 'GET', url: '/dicomweb/instances?offset=99999999999999999999', headers: f.auth('reader') });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_input' });
      expect((await f.app.inject({ method: 'GET', url: '/dicomweb/instances?limit=99999999999999999999', headers: f.auth('reader') })).statusCode).toBe(200);
    });
  });
});
