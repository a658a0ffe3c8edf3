// GET /v1/policies and /v1/policies/:id over HTTP: list (without reports) by model, one with its report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ApiFixture, openApiFixture } from '../testing/fixture.js';

let f: ApiFixture;
beforeAll(async () => {
  f = await openApiFixture();
});
afterAll(async () => {
  await f.close();
});

describe('policies', () => {
  it('lists newest first without reports, filters by model, shows one with its report', async () => {
    const report = { chosenBy: 'policy fit', curve: [{ threshold: 0.9, reduction: 0.41, falseClearRate: 0.004 }], nested: { list: [1, 'two', null] } };
    const p1 = await f.workflow.policies.create({ modelName: 'cxr-oct', modelVersion: 1, rule: { thresholds: { 'lung-normal': 0.9 } }, by: 'emil', report });
    const p2 = await f.workflow.policies.create({
      modelName: 'cxr-oct',
      modelVersion: 1,
      rule: { thresholds: { 'lung-normal': 0.95 }, alwaysDoubleRead: ['lung-covid'], qaFraction: 0.1 },
      by: 'emil',
    });
    await f.workflow.policies.create({ modelName: 'other', modelVersion: 2, rule: { thresholds: {} }, by: 'ada' });

    const all = await f.app.inject({ method: 'GET', url: '/v1/policies', headers: f.auth('engineer') });
    expect(all.statusCode).toBe(200);
    expect(all.json().policies.map((p: { id: string }) => p.id)).toHaveLength(3);
    const mine = (await f.app.inject({ method: 'GET', url: '/v1/policies?model=cxr-oct', headers: f.auth('adjudicator') })).json().policies;
    expect(mine).toEqual([
      {
        id: p2.id,
        modelName: 'cxr-oct',
        modelVersion: 1,
        version: 2,
        thresholds: { 'lung-normal': 0.95 },
        alwaysDoubleRead: ['lung-covid'],
        qaFraction: 0.1,
        createdBy: 'emil',
        createdAt: p2.createdAt,
      },
      expect.objectContaining({ id: p1.id, version: 1, qaFraction: 0.05 }),
    ]);
    expect(mine[1]).not.toHaveProperty('report');

    expect((await f.app.inject({ method: 'GET', url: `/v1/policies/${p1.id}`, headers: f.auth('admin') })).json()).toMatchObject({ id: p1.id, report });
    expect((await f.app.inject({ method: 'GET', url: `/v1/policies/${p2.id}`, headers: f.auth('admin') })).json()).toMatchObject({ id: p2.id, report: null });
  });

  it('404 for an unknown policy, 400 for a malformed id or model name', async () => {
    expect((await f.app.inject({ method: 'GET', url: '/v1/policies/pol_nope', headers: f.auth('admin') })).json()).toMatchObject({ code: 'not_found' });
    expect((await f.app.inject({ method: 'GET', url: '/v1/policies/a.b', headers: f.auth('admin') })).statusCode).toBe(400);
    expect((await f.app.inject({ method: 'GET', url: '/v1/policies?model=Bad..Name', headers: f.auth('admin') })).statusCode).toBe(400);
  });
});
