import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishedRunWithModel } from '../../tracking/testing.js';
import { openApiFixture, type ApiFixture } from '../testing.js';

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
    expect(res.json()).toEqual({ models: [{ name: 'cxr-oct', latest_version: 2, aliases: { production: 1, canary: 2 }, created_at: expect.any(String) }] });
  });

  it("shows a model's versions", async () => {
    const res = await f.app.inject({ method: 'GET', url: '/v1/models/cxr-oct', headers: f.auth() });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.aliases).toEqual({ production: 1, canary: 2 });
    expect(body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(body.versions[1]).toMatchObject({ source: 'run', dataset_version: 'ds_test', classes: ['lung-normal', 'lung-covid', 'oct-cnv'], temperature: 1.25, notes: 'same weights, second version', created_by: 'alice', onnx_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await f.app.inject({ method: 'GET', url: '/v1/models/absent', headers: f.auth() })).statusCode).toBe(404);
    expect((await f.app.inject({ method: 'GET', url: '/v1/models/UPPER', headers: f.auth() })).statusCode).toBe(400);
  });
});
