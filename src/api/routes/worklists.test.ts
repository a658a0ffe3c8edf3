// GET /v1/worklists/A and /B over HTTP: order (priority, then oldest), limit, roles, and items that
// carry nothing of the model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { modelRead } from '../../workflow/testing.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';
import { postRead, postStudy } from '../testing/http.js';

let f: ApiFixture;
let now = Date.parse('2026-03-02T08:00:00.000Z');
beforeAll(async () => {
  f = await openApiFixture({ workflow: { clock: { now: () => new Date((now += 1000)) } } });
});
afterAll(async () => {
  await f.close();
});

async function intake(priority: boolean): Promise<string> {
  const res = await postStudy(f.app, f.auth('admin'), { modality: 'cxr', priority: String(priority) });
  expect(res.statusCode).toBe(201);
  return res.json().id as string;
}

describe('worklists', () => {
  it('A: priority first, then oldest; B after read A; items without the model; limit', async () => {
    f.model.next(modelRead('lung-covid', 0.99));
    const [routine1, urgent, routine2] = [await intake(false), await intake(true), await intake(false)];
    const a = await f.app.inject({ method: 'GET', url: '/v1/worklists/A', headers: f.auth('reader') });
    expect(a.statusCode).toBe(200);
    expect(a.json()).toEqual({
      worklist: 'A',
      items: [urgent, routine1, routine2].map((id) => ({ id, modality: 'cxr', priority: id === urgent, createdAt: expect.any(String), status: 'awaiting_a' })),
    });
    expect(a.body).not.toMatch(/lung-covid|cxr-oct|probabilit/);
    expect(
      (await f.app.inject({ method: 'GET', url: '/v1/worklists/A?limit=1', headers: f.auth('admin') })).json().items.map((i: { id: string }) => i.id),
    ).toEqual([urgent]);

    await postRead(f.app, f.auth('reader'), routine1, 'lung-normal');
    const b = (await f.app.inject({ method: 'GET', url: '/v1/worklists/B', headers: f.auth('adjudicator') })).json();
    expect(b).toEqual({ worklist: 'B', items: [{ id: routine1, modality: 'cxr', priority: false, createdAt: expect.any(String), status: 'awaiting_b' }] });
  });

  it('400 for a limit outside 1…500 or an unknown parameter; 404 for another worklist', async () => {
    for (const q of ['limit=0', 'limit=501', 'limit=x', 'order=new']) {
      expect((await f.app.inject({ method: 'GET', url: `/v1/worklists/A?${q}`, headers: f.auth('reader') })).statusCode, q).toBe(400);
    }
    expect((await f.app.inject({ method: 'GET', url: '/v1/worklists/C', headers: f.auth('admin') })).statusCode).toBe(404);
  });
});
