import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { finishedRunWithModel } from '../../tracking/testing.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';
import { type CatalogFixture, openCatalogFixture, rolesExcept } from './catalog-testing.js';
import { ALIAS_CHANGE_ROLES, modelCatalogRoutes } from './models.js';

let f: ApiFixture;
beforeAll(async () => {
  f = await openApiFixture();
  const run = await finishedRunWithModel(f.tracking.tracker, { temperature: 1.25 });
  await f.registry.register({ runId: run, name: 'cxr-oct', by: 'alice' });
  await f.registry.register({ runId: run, name: 'cxr-oct', by: 'alice', notes: 'same weights, second version' });
  await f.registry.setAlias('cxr-oct', 'production', 1, { by: 'alice', reason: 'first' });
  await f.registry.setAlias('cxr-oct', 'canary', 2, { by: 'alice', reason: 'try' });
});
afterAll(async () => {
  await f.close();
});

describe('models (read-only)', () => {
  it('lists registered models with latest version and aliases', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/v1/models', headers: f.auth() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ models: [{ name: 'cxr-oct', latestVersion: 2, aliases: { production: 1, canary: 2 }, createdAt: expect.any(String) }] });
  });

  it("shows a model's versions", async () => {
    const res = await f.app.inject({ method: 'GET', url: '/v1/models/cxr-oct', headers: f.auth() });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.aliases).toEqual({ production: 1, canary: 2 });
    expect(body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(body.versions[1]).toMatchObject({
      source: 'run',
      datasetVersion: 'ds_test',
      classes: ['lung-normal', 'lung-covid', 'oct-cnv'],
      temperature: 1.25,
      notes: 'same weights, second version',
      createdBy: 'alice',
      onnxSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect((await f.app.inject({ method: 'GET', url: '/v1/models/absent', headers: f.auth() })).statusCode).toBe(404);
    expect((await f.app.inject({ method: 'GET', url: '/v1/models/UPPER', headers: f.auth() })).statusCode).toBe(400);
  });
});

// The catalog routes on their own app (built like app.ts) with a real registry: two versions of one model.
describe('model catalog (version card, alias history, promote, rollback)', () => {
  let c: CatalogFixture;
  let app: FastifyInstance;
  beforeAll(async () => {
    c = await openCatalogFixture();
    const run = await finishedRunWithModel(c.tracking.tracker);
    await c.registry.register({ runId: run, name: 'cxr-oct', by: 'alice' });
    await c.registry.register({ runId: run, name: 'cxr-oct', by: 'alice', notes: 'second' });
    await c.registry.setAlias('cxr-oct', 'production', 1, { by: 'alice', reason: 'first release' });
    await c.registry.setAlias('cxr-oct', 'staging', 1, { by: 'alice', reason: 'try' });
    app = await c.serve(modelCatalogRoutes, { registry: c.registry });
  });
  afterAll(async () => {
    await c.close();
  });

  type Who = Parameters<CatalogFixture['auth']>[0];
  const get = (url: string, who: Who = 'reader') => app.inject({ method: 'GET', url, headers: c.auth(who) });
  const post = (url: string, payload: unknown, who: Who = 'ml-engineer') =>
    app.inject({ method: 'POST', url, headers: c.auth(who), payload: payload as object });

  it('a version: its record, the aliases on it, and its model card with metrics (any role)', async () => {
    const res = await get('/v1/models/cxr-oct/versions/1');
    expect(res.statusCode).toBe(200);
    const v = res.json();
    expect(v).toMatchObject({
      name: 'cxr-oct',
      version: 1,
      source: 'run',
      datasetVersion: 'ds_test',
      classes: ['lung-normal', 'lung-covid', 'oct-cnv'],
      createdBy: 'alice',
      onnxSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(v.aliases.sort()).toEqual(['production', 'staging']);
    expect(v.card).toMatchObject({
      schema: 'secondread.model-card/1',
      name: 'cxr-oct',
      version: 1,
      lineage: { runId: v.runId },
      calibration: { temperature: 1.5 },
    });
    expect(v.card.metrics.overall.map((o: { split: string }) => o.split)).toEqual(['val', 'test']);
    expect(v.card.metrics.perClass).toHaveLength(3);
    expect((await get('/v1/models/cxr-oct/versions/2', 'adjudicator')).json()).toMatchObject({ version: 2, notes: 'second', aliases: [] });
  });

  it('version lookups: 404 unknown model or version, 400 malformed name or version, 401 without a token', async () => {
    for (const u of ['/v1/models/cxr-oct/versions/9', '/v1/models/absent/versions/1'])
      expect([(await get(u)).statusCode, (await get(u)).json().code], u).toEqual([404, 'not_found']);
    for (const u of [
      '/v1/models/cxr-oct/versions/0',
      '/v1/models/cxr-oct/versions/1.5',
      '/v1/models/cxr-oct/versions/abc',
      '/v1/models/UPPER/versions/1',
      '/v1/models/a..b/versions/1',
    ]) {
      expect([(await get(u)).statusCode, (await get(u)).json().code], u).toEqual([400, 'invalid_input']);
    }
    expect((await app.inject({ method: 'GET', url: '/v1/models/cxr-oct/versions/1' })).statusCode).toBe(401);
  });

  it('the alias history, oldest first, optionally of one alias', async () => {
    const res = await get('/v1/models/cxr-oct/aliases/history');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'cxr-oct', aliases: { production: 1, staging: 1 } });
    expect(res.json().events.map((e: { alias: string; reason: string }) => [e.alias, e.reason])).toEqual([
      ['production', 'first release'],
      ['staging', 'try'],
    ]);
    expect((await get('/v1/models/cxr-oct/aliases/history?alias=staging')).json().events).toHaveLength(1);
    expect((await get('/v1/models/absent/aliases/history')).statusCode).toBe(404);
    expect((await get('/v1/models/cxr-oct/aliases/history?alias=latest')).statusCode).toBe(400);
    expect((await get('/v1/models/cxr-oct/aliases/history?since=1')).statusCode).toBe(400);
  });

  it('promote: the caller is recorded as who, the reason as why; promoting to the current version is 409', async () => {
    const res = await post('/v1/models/cxr-oct/aliases/production', { version: 2, reason: 'better on final_eval' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'cxr-oct',
      alias: 'production',
      version: 2,
      previousVersion: 1,
      aliases: { production: 2, staging: 1 },
      event: { action: 'set', version: 2, previousVersion: 1, by: 'emil', reason: 'better on final_eval' },
    });
    expect(await c.registry.aliases('cxr-oct')).toMatchObject({ production: 2 });
    const again = await post('/v1/models/cxr-oct/aliases/production', { version: 2, reason: 'again' }, 'admin');
    expect([again.statusCode, again.json().code]).toEqual([409, 'conflict']);
    expect((await post('/v1/models/cxr-oct/aliases/canary', { version: 9, reason: 'x' })).statusCode).toBe(404);
    expect((await post('/v1/models/absent/aliases/canary', { version: 1, reason: 'x' })).statusCode).toBe(404);
  });

  it('rollback: back to the version before the latest promotion; nothing earlier to go back to is 409', async () => {
    const res = await post('/v1/models/cxr-oct/aliases/production/rollback', { reason: 'false clears up' }, 'admin');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      alias: 'production',
      from: 2,
      to: 1,
      aliases: { production: 1 },
      event: { action: 'rollback', version: 1, previousVersion: 2, by: 'ada', reason: 'false clears up' },
    });
    const none = await post('/v1/models/cxr-oct/aliases/production/rollback', { reason: 'once more' });
    expect([none.statusCode, none.json().code]).toEqual([409, 'conflict']);
    expect((await post('/v1/models/cxr-oct/aliases/canary/rollback', { reason: 'never set' })).statusCode).toBe(409);
    expect((await post('/v1/models/absent/aliases/canary/rollback', { reason: 'x' })).statusCode).toBe(404);
    const history = (await get('/v1/models/cxr-oct/aliases/history?alias=production')).json().events;
    expect(history.map((e: { action: string; by: string }) => `${e.action}:${e.by}`)).toEqual(['set:alice', 'set:emil', 'rollback:ada']);
  });

  it('changes are validated at the edge (400) and leave the registry untouched', async () => {
    const before = await c.registry.aliasHistory('cxr-oct');
    const bad: [string, unknown][] = [
      ['/v1/models/cxr-oct/aliases/production', { version: 2 }],
      ['/v1/models/cxr-oct/aliases/production', { version: 2, reason: '' }],
      ['/v1/models/cxr-oct/aliases/production', { version: 2, reason: 'line\nbreak' }],
      ['/v1/models/cxr-oct/aliases/production', { version: 2, reason: 'x'.repeat(2001) }],
      ['/v1/models/cxr-oct/aliases/production', { version: 0, reason: 'x' }],
      ['/v1/models/cxr-oct/aliases/production', { version: 2, reason: 'x', by: 'someone-else' }],
      ['/v1/models/cxr-oct/aliases/latest', { version: 2, reason: 'x' }],
      ['/v1/models/CXR/aliases/production', { version: 2, reason: 'x' }],
      ['/v1/models/cxr-oct/aliases/production/rollback', {}],
      ['/v1/models/cxr-oct/aliases/production/rollback', { reason: 'x', version: 1 }],
    ];
    for (const [url, payload] of bad) {
      const res = await post(url, payload);
      expect([res.statusCode, res.json().code], `${url} ${JSON.stringify(payload)}`).toEqual([400, 'invalid_input']);
    }
    expect(await c.registry.aliasHistory('cxr-oct')).toEqual(before);
  });

  it(`only ${ALIAS_CHANGE_ROLES.join(' and ')} move aliases (403 for the others, 401 without a token)`, async () => {
    const before = await c.registry.aliasHistory('cxr-oct');
    for (const role of rolesExcept(ALIAS_CHANGE_ROLES)) {
      expect([(await post('/v1/models/cxr-oct/aliases/canary', { version: 2, reason: 'x' }, role)).statusCode, role]).toEqual([403, role]);
      expect([(await post('/v1/models/cxr-oct/aliases/production/rollback', { reason: 'x' }, role)).statusCode, role]).toEqual([403, role]);
    }
    expect((await app.inject({ method: 'POST', url: '/v1/models/cxr-oct/aliases/canary', payload: { version: 2, reason: 'x' } })).statusCode).toBe(401);
    expect((await post('/v1/models/cxr-oct/aliases/canary', { version: 2, reason: 'x' }, { token: 'sr_nope' })).statusCode).toBe(401);
    expect(await c.registry.aliasHistory('cxr-oct')).toEqual(before);
  });
});
