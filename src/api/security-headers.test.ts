// Every answer carries the security headers (JSON, errors, images, health); CORS stays off unless origins
// are configured, and then only the named origin gets the CORS headers and a preflight answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ApiFixture, openApiFixture } from './testing/fixture.js';

let plain: ApiFixture;
let cors: ApiFixture;
beforeAll(async () => {
  plain = await openApiFixture();
  cors = await openApiFixture({ deps: { corsOrigins: ['https://viewer.example.org'] } });
});
afterAll(async () => {
  await plain?.close();
  await cors?.close();
});

describe('security headers', () => {
  it('are on every answer: a JSON route, an error, a 404 and a health probe', async () => {
    const answers = [
      await plain.app.inject({ method: 'GET', url: '/v1/worklists/A', headers: plain.auth('reader') }),
      await plain.app.inject({ method: 'GET', url: '/v1/studies' }),
      await plain.app.inject({ method: 'GET', url: '/no/such/route' }),
      await plain.app.inject({ method: 'GET', url: '/healthz' }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 401, 404, 200]);
    for (const a of answers) {
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.headers['x-frame-options']).toBe('DENY');
      expect(a.headers['referrer-policy']).toBe('no-referrer');
      expect(a.headers['content-security-policy']).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
      expect(a.headers['access-control-allow-origin']).toBeUndefined();
      expect(a.headers['strict-transport-security']).toBeUndefined(); // plain HTTP
    }
  });

  it('CORS is off by default: a foreign origin gets no CORS header and no preflight', async () => {
    const res = await plain.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await plain.app.inject({ method: 'OPTIONS', url: '/v1/studies', headers: { origin: 'https://evil.example' } });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('with configured origins: the named origin may call, others still may not', async () => {
    const ok = await cors.app.inject({ method: 'GET', url: '/v1/worklists/A', headers: { ...cors.auth('reader'), origin: 'https://viewer.example.org' } });
    expect(ok.headers['access-control-allow-origin']).toBe('https://viewer.example.org');
    expect(ok.headers.vary).toMatch(/origin/i);
    const preflight = await cors.app.inject({
      method: 'OPTIONS',
      url: '/v1/studies',
      headers: { origin: 'https://viewer.example.org', 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/);
    const other = await cors.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
