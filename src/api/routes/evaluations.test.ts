import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ApiFixture, openApiFixture } from '../testing/fixture.js';

let f: ApiFixture;
beforeAll(async () => {
  f = await openApiFixture();
});
afterAll(async () => {
  await f.close();
});

const body = { model: 'cxr', alias: 'production', datasetVersion: 'ds-3f9a', split: 'test' };

describe('evaluations', () => {
  it('an ML engineer starts one: 202, its id, a Location, the caller recorded as creator', async () => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/evaluations', headers: f.auth('engineer'), payload: body });
    expect(res.statusCode).toBe(202);
    const e = res.json();
    expect(e).toMatchObject({
      id: expect.any(String),
      jobId: expect.any(String),
      model: 'cxr',
      datasetVersion: 'ds-3f9a',
      split: 'test',
      status: 'queued',
      progress: 0,
      createdBy: 'emil',
      report: null,
    });
    expect(res.headers.location).toBe(`/v1/evaluations/${e.id}`);
    expect(f.evaluations.created.at(-1)).toEqual({
      model: 'cxr',
      alias: 'production',
      version: undefined,
      datasetVersion: 'ds-3f9a',
      split: 'test',
      createdBy: 'emil',
    });

    f.evaluations.update(e.id, { status: 'succeeded', progress: 1, images: 90, accuracy: 0.9, macroF1: 0.85, finishedAt: '2024-05-01T10:05:00.000Z' });
    const got = await f.app.inject({ method: 'GET', url: `/v1/evaluations/${e.id}`, headers: f.auth('admin') });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ id: e.id, status: 'succeeded', images: 90, accuracy: 0.9, macroF1: 0.85, finishedAt: '2024-05-01T10:05:00.000Z' });
  });

  it('readers and adjudicators may not (403); no token is 401', async () => {
    for (const role of ['reader', 'adjudicator'] as const) {
      const res = await f.app.inject({ method: 'POST', url: '/v1/evaluations', headers: f.auth(role), payload: body });
      expect([res.statusCode, res.json().code]).toEqual([403, 'forbidden']);
      expect((await f.app.inject({ method: 'GET', url: '/v1/evaluations/ev_1', headers: f.auth(role) })).statusCode).toBe(403);
    }
    expect((await f.app.inject({ method: 'POST', url: '/v1/evaluations', payload: body })).statusCode).toBe(401);
  });

  it('validates the request at the edge: split, names, version xor alias, no extra fields, no paths', async () => {
    const bad = [
      { ...body, split: 'holdout' },
      { ...body, model: '../models' },
      { ...body, datasetVersion: '../../etc/passwd' },
      { ...body, datasetVersion: '/tmp/data' },
      { ...body, version: 2 },
      { ...body, alias: 'latest' },
      { ...body, path: '/data' },
      { model: 'cxr', split: 'test' },
    ];
    for (const payload of bad) {
      const res = await f.app.inject({ method: 'POST', url: '/v1/evaluations', headers: f.auth('engineer'), payload });
      expect([res.statusCode, res.json().code], JSON.stringify(payload)).toEqual([400, 'invalid_input']);
    }
    const garbage = await f.app.inject({
      method: 'POST',
      url: '/v1/evaluations',
      headers: { ...f.auth('engineer'), 'content-type': 'application/json' },
      payload: '{"model": "cxr",',
    });
    expect([garbage.statusCode, garbage.json().code]).toEqual([400, 'invalid_input']);
    expect(f.evaluations.created.every((c) => c.split === 'test')).toBe(true);
  });

  it('unknown model (from the service) and unknown evaluation id are 404', async () => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/evaluations', headers: f.auth('engineer'), payload: { ...body, model: 'other' } });
    expect([res.statusCode, res.json().code]).toEqual([404, 'not_found']);
    const missing = await f.app.inject({ method: 'GET', url: '/v1/evaluations/ev_999', headers: f.auth('engineer') });
    expect([missing.statusCode, missing.json().code]).toEqual([404, 'not_found']);
    expect((await f.app.inject({ method: 'GET', url: '/v1/evaluations/a%20b', headers: f.auth('engineer') })).statusCode).toBe(400);
  });
});
