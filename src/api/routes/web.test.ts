import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { WEB_CSP, webRoutes } from './web.js';

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-Ab12_x.js"></script></head><body><div id="root"></div></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))});`;

let root: string;
let app: FastifyInstance;

/** A Fastify app shaped like ours: JSON 404s, an API route, the web plugin, the OpenAPI document. */
async function serve(dir: string): Promise<FastifyInstance> {
  const a = Fastify();
  a.setNotFoundHandler((request, reply) => reply.code(404).send({ code: 'not_found', message: `no route ${request.method} ${request.url}` }));
  await a.register(swagger, { openapi: { openapi: '3.0.3', info: { title: 't', version: '1' } } });
  a.get('/v1/ping', { schema: { response: { 200: { type: 'object', properties: { pong: { type: 'boolean' } } } } } }, async () => ({ pong: true }));
  await a.register(webRoutes, { dir });
  await a.ready();
  return a;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'web-route-'));
});
afterEach(async () => {
  await app?.close();
  await rm(root, { recursive: true, force: true });
});

describe('with a build', () => {
  let dist: string;
  beforeEach(async () => {
    dist = join(root, 'dist');
    await mkdir(join(dist, 'assets'), { recursive: true });
    await writeFile(join(dist, 'index.html'), INDEX);
    await writeFile(join(dist, 'assets', 'index-Ab12_x.js'), SCRIPT);
    await writeFile(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(root, 'secret.txt'), 'top secret');
    await symlink(join(root, 'secret.txt'), join(dist, 'assets', 'leak.txt'));
    await writeFile(join(dist, 'assets', 'notes.exe'), 'MZ');
    app = await serve(dist);
  });

  it('/ is index.html: no-cache, an ETag, the CSP and the other security headers', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(INDEX);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toBe(WEB_CSP);
    expect(WEB_CSP).toContain("script-src 'self'");
    expect(WEB_CSP).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    const again = await app.inject({ method: 'GET', url: '/', headers: { 'if-none-match': res.headers.etag as string } });
    expect([again.statusCode, again.body]).toEqual([304, '']);
  });

  it('hashed assets are cached for a year; other files revalidate; gzip when the client takes it', async () => {
    const js = await app.inject({ method: 'GET', url: '/assets/index-Ab12_x.js' });
    expect([js.statusCode, js.body, js.headers['content-type'], js.headers['cache-control']]).toEqual([
      200,
      SCRIPT,
      'text/javascript; charset=utf-8',
      'public, max-age=31536000, immutable',
    ]);
    const gz = await app.inject({ method: 'GET', url: '/assets/index-Ab12_x.js', headers: { 'accept-encoding': 'br, gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.rawPayload.length).toBeLessThan(SCRIPT.length / 4);
    expect(gunzipSync(gz.rawPayload).toString()).toBe(SCRIPT);
    const icon = await app.inject({ method: 'GET', url: '/favicon.svg?v=2' });
    expect([icon.statusCode, icon.headers['content-type'], icon.headers['cache-control']]).toEqual([200, 'image/svg+xml', 'no-cache']);
  });

  it("the SPA's own routes get index.html; API paths and missing assets keep the app's JSON 404", async () => {
    for (const url of ['/worklist', '/studies/st_0mwt.1:2', '/models/cxr-oct?tab=aliases', '/index.htm']) {
      const res = await app.inject({ method: 'GET', url });
      expect([url, res.statusCode, res.body]).toEqual([url, 200, INDEX]);
    }
    expect((await app.inject({ method: 'GET', url: '/v1/ping' })).json()).toEqual({ pong: true });
    for (const url of ['/v1/nope', '/v2', '/metrics/x', '/docs/nope', '/assets/index-missing.js', '/assets/']) {
      const res = await app.inject({ method: 'GET', url });
      expect([url, res.statusCode, res.json().code]).toEqual([url, 404, 'not_found']);
    }
    expect((await app.inject({ method: 'POST', url: '/worklist' })).statusCode).toBe(404);
  });

  it('serves only the plain files it read at startup: no symlink, no unknown type, no path from the request', async () => {
    await writeFile(join(dist, 'assets', 'later.js'), 'added after startup');
    for (const url of [
      '/assets/leak.txt',
      '/assets/notes.exe',
      '/assets/later.js',
      '/assets/../../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2f..%2fsecret.txt',
      '/assets%2f..%2f..%2fsecret.txt',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.body, url).not.toContain('top secret');
      expect(res.body, url).not.toContain('added after startup');
      expect(res.body, url).not.toContain('MZ');
    }
  });

  it('is not part of the OpenAPI document', async () => {
    expect(Object.keys((app.swagger() as { paths: Record<string, unknown> }).paths)).toEqual(['/v1/ping']);
  });
});

describe('without a build', () => {
  it('/ and SPA routes say how to build the UI (503); API paths are still JSON 404s', async () => {
    app = await serve(join(root, 'nothing-here'));
    for (const url of ['/', '/worklist']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['content-security-policy']).toBe(WEB_CSP);
      expect(res.body).toContain('npm run build:web');
    }
    expect((await app.inject({ method: 'GET', url: '/v1/nope' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/ping' })).statusCode).toBe(200);
  });

  it('a folder without index.html is not a build', async () => {
    await mkdir(join(root, 'half', 'assets'), { recursive: true });
    await writeFile(join(root, 'half', 'assets', 'a.js'), 'x');
    app = await serve(join(root, 'half'));
    expect((await app.inject({ method: 'GET', url: '/assets/a.js' })).statusCode).toBe(404);
  });
});

describe('bin/build-web-if-needed.js (npm prestart)', () => {
  const script = fileURLToPath(new URL('../../../bin/build-web-if-needed.js', import.meta.url));
  const check = (env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [script, '--check', '--root', root], {
      encoding: 'utf8',
      env: { ...process.env, SECONDREAD_SKIP_WEB_BUILD: '', ...env },
    });
    return [r.status, r.stdout.trim()];
  };
  const at = (path: string, seconds: number) => utimes(join(root, path), seconds, seconds);

  it('builds when dist/web is missing or older than a web source, the class list or the lock; tests do not count', async () => {
    await mkdir(join(root, 'web', 'src'), { recursive: true });
    await mkdir(join(root, 'src', 'data'), { recursive: true });
    await writeFile(join(root, 'web', 'src', 'App.tsx'), 'x');
    await writeFile(join(root, 'web', 'src', 'App.test.ts'), 'x');
    await writeFile(join(root, 'src', 'data', 'classes.ts'), 'x');
    await writeFile(join(root, 'package-lock.json'), '{}');
    for (const p of ['web/src/App.tsx', 'web/src/App.test.ts', 'src/data/classes.ts', 'package-lock.json']) await at(p, 1_000_000);
    expect(check()).toEqual([1, 'stale: dist/web is missing']);

    await mkdir(join(root, 'dist', 'web'), { recursive: true });
    await writeFile(join(root, 'dist', 'web', 'index.html'), INDEX);
    await at('dist/web/index.html', 2_000_000);
    expect(check()).toEqual([0, 'up to date']);

    await at('web/src/App.test.ts', 3_000_000);
    expect(check()).toEqual([0, 'up to date']);
    await at('web/src/App.tsx', 3_000_000);
    expect(check()).toEqual([1, `stale: ${join('web', 'src', 'App.tsx')} is newer than dist/web`]);
    await at('dist/web/index.html', 4_000_000);
    await at('package-lock.json', 5_000_000);
    expect(check()).toEqual([1, 'stale: package-lock.json is newer than dist/web']);
    expect(check({ SECONDREAD_SKIP_WEB_BUILD: '1' })).toEqual([0, '']);
  });
});
