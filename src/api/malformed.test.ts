// Malformed input, generated: garbage bytes, truncated and bit-flipped PNG/JPEG, absurd headers,
// broken or hostile JSON, odd content types and paths, thrown at every endpoint that takes input.
// Whatever comes in, the answer is a 4xx JSON error with a code and the request id — never a 500,
// never a stack trace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { grayPng, rgbJpeg } from '../data/images/testing.js';
import { type ApiFixture, openApiFixture } from './testing/fixture.js';
import { multipartBody, pngHeaderClaiming } from './testing/http.js';

let f: ApiFixture;
let png: Buffer;
let jpeg: Buffer;
beforeAll(async () => {
  f = await openApiFixture({ limits: { maxUploadBytes: 128 * 1024, maxBatchFiles: 3 } });
  png = await grayPng(48, 40, (x, y) => (x * y) % 256);
  jpeg = await rgbJpeg(40, 40, (x, y) => x + y);
});
afterAll(async () => {
  await f.close();
});

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function malformedImages(r: () => number): Buffer[] {
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const flip = (b: Buffer, from: number) => {
    const c = Buffer.from(b);
    for (let k = 0; k < 6; k++) {
      const i = from + Math.floor(r() * (c.length - from));
      c[i] = c[i]! ^ (1 + Math.floor(r() * 255));
    }
    return c;
  };
  return [
    bytes(1 + Math.floor(r() * 2000)),
    Buffer.concat([png.subarray(0, 8), bytes(Math.floor(r() * 100))]),
    png.subarray(0, Math.floor(r() * png.length)),
    jpeg.subarray(0, 3 + Math.floor(r() * (jpeg.length - 3))),
    flip(png, 8),
    flip(jpeg, 2),
    pngHeaderClaiming(1 + Math.floor(r() * 2 ** 31), 1 + Math.floor(r() * 2 ** 31)),
    pngHeaderClaiming(0, 0),
    Buffer.alloc(0),
  ];
}

function malformedJson(r: () => number): (string | Buffer)[] {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const s = JSON.stringify({ inputs: [{ name: 'pixels', shape: [1, 1, 8, 8], datatype: 'FP32', data: Array.from({ length: 64 }, () => r()) }] });
  return [
    s.slice(0, Math.floor(r() * s.length)),
    deep(5000),
    '{"inputs": [{"name": "pixels", "shape": [1e308, 1e308], "datatype": "FP32", "data": []}]}',
    '{"inputs": [{"name": "pixels", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": ' + deep(40) + '}]}',
    '{"__proto__": {"polluted": true}, "inputs": []}',
    '{"constructor": {"prototype": {"x": 1}}, "model": "cxr"}',
    'null',
    '"just a string"',
    '\u0000\u0001\u0002',
    Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
  ];
}

const CONTENT_TYPES = [
  'image/png',
  'image/jpeg',
  'application/octet-stream',
  'application/json',
  'text/plain',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'image/png; charset=utf-8',
  'application/x-www-form-urlencoded',
  ';;;',
];

function expectClientError(res: { statusCode: number; body: string; headers: Record<string, unknown> }, what: string): void {
  expect(res.statusCode, `${what} → ${res.statusCode} ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, `${what} → ${res.body.slice(0, 200)}`).toBeLessThan(500);
  const body = JSON.parse(res.body) as { code?: string; requestId?: string; request_id?: string };
  expect(body.code, what).toEqual(expect.any(String));
  // /v1 bodies are camelCase; the KServe v2 routes keep the protocol's snake_case.
  expect(what.startsWith('/v2') ? body.request_id : body.requestId, what).toBe(res.headers['x-request-id']);
  expect(res.body, what).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|\.js:\d+/);
}

describe('malformed input never crashes the server or leaks a stack', () => {
  it('predict: garbage, truncated and bit-flipped images under every content type', async () => {
    const r = rng(7);
    for (let round = 0; round < 4; round++) {
      for (const [i, payload] of malformedImages(r).entries()) {
        const type = CONTENT_TYPES[Math.floor(r() * CONTENT_TYPES.length)]!;
        const what = `round ${round} image ${i} as ${type}`;
        const res = await f.app.inject({ method: 'POST', url: '/v1/models/cxr/predict', headers: { ...f.auth(), 'content-type': type }, payload });
        // A bit-flipped image may still decode: then it is a prediction, which is fine.
        if (res.statusCode === 200) continue;
        expectClientError(res, what);
        const mp = multipartBody([{ bytes: payload }]);
        expectClientError(
          await f.app.inject({ method: 'POST', url: '/v1/models/cxr/predict/batch', headers: { ...f.auth(), ...mp.headers }, payload: mp.payload }),
          `batch ${what}`,
        );
      }
    }
  });

  it('infer and evaluations: broken, deep and hostile JSON', async () => {
    const r = rng(11);
    for (let round = 0; round < 3; round++) {
      for (const [i, payload] of malformedJson(r).entries()) {
        for (const [url, role] of [
          ['/v2/models/cxr/infer', 'reader'],
          ['/v1/evaluations', 'engineer'],
        ] as const) {
          const type = r() < 0.7 ? 'application/json' : CONTENT_TYPES[Math.floor(r() * CONTENT_TYPES.length)]!;
          const res = await f.app.inject({ method: 'POST', url, headers: { ...f.auth(role), 'content-type': type }, payload });
          expectClientError(res, `${url} round ${round} payload ${i} as ${type}`);
        }
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('odd paths, query strings and headers', async () => {
    const urls = [
      '/v1/models/%00/predict',
      '/v1/models/%2e%2e%2f%2e%2e/predict',
      '/v1/models/cxr/predict?version=1e400',
      '/v1/models/cxr/predict?version[]=1&version[]=2',
      '/v1/models/cxr/predict?alias=production&alias=canary',
      `/v1/models/${'a'.repeat(5000)}/predict`,
      '/v2/models/cxr/versions/99999999999999999999/infer',
      '/v1/evaluations/%ff%fe',
    ];
    for (const url of urls) {
      const res = await f.app.inject({
        method: url.includes('evaluations') ? 'GET' : 'POST',
        url,
        headers: { ...f.auth('engineer'), 'content-type': 'image/png' },
        payload: png,
      });
      expectClientError(res, url);
    }
    for (const authorization of ['Bearer', 'Bearer ' + 'x'.repeat(10_000), 'bearer\tsr_', '\u00e9']) {
      const res = await f.app.inject({ method: 'GET', url: '/v1/models', headers: { authorization } });
      expectClientError(res, `authorization ${authorization.slice(0, 20)}`);
    }
  });
});
