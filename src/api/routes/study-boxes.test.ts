// The detector's boxes over HTTP (app.inject, the real WorkflowService with a scripted detector): blinded for
// reader A in the JSON the API sends, shown to B with the model read, and PUT /v1/studies/:id/boxes/:index/mark
// (reader B only: authenticated, role-checked, validated, audited).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { grayPng } from '../../data/images/testing.js';
import { boxRead, FakeBoxReader, modelRead } from '../../workflow/testing.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';
import { postRead, postStudy } from '../testing/http.js';

let f: ApiFixture;
let png: Buffer;
const det = new FakeBoxReader();
beforeAll(async () => {
  f = await openApiFixture({ workflow: { detector: det } });
  png = await grayPng(24, 24, (x, y) => (x * 5 + y * 3) % 256);
});
afterAll(async () => {
  await f.close();
});

async function atB(): Promise<string> {
  f.model.next(modelRead('lung-covid', 0.7));
  const taken = await postStudy(f.app, f.auth('reader'), { modality: 'cxr' }, png);
  expect(taken.statusCode).toBe(201);
  expect(taken.body).not.toMatch(/detections|Cardiomegaly|boxRead/);
  const id = taken.json().id as string;
  const blind = await f.app.inject({ method: 'GET', url: `/v1/studies/${id}`, headers: f.auth('reader') });
  expect(blind.body).not.toMatch(/detections|Cardiomegaly|boxRead|cxr-det/);
  expect((await postRead(f.app, f.auth('reader'), id, 'lung-normal')).json().status).toBe('awaiting_b');
  return id;
}

const mark = (id: string, index: number | string, payload: unknown, role: keyof ApiFixture['tokens'] | null = 'adjudicator') =>
  f.app.inject({ method: 'PUT', url: `/v1/studies/${id}/boxes/${index}/mark`, headers: role ? f.auth(role) : {}, payload: payload as object });

describe('boxes in the study view', () => {
  it('reader A gets none before committing; B gets them with the model read, the detector and the box-read status', async () => {
    const id = await atB();
    const b = (await f.app.inject({ method: 'GET', url: `/v1/studies/${id}`, headers: f.auth('adjudicator') })).json();
    expect(b.reads.model.detections).toEqual(boxRead().detections);
    expect(b.reads.model.detector).toEqual({ name: 'cxr-det', version: 2 });
    expect(b.boxRead).toEqual({ status: 'read', detector: { name: 'cxr-det', version: 2 }, boxes: 3 });
  });
});

describe('PUT /v1/studies/:id/boxes/:index/mark', () => {
  it('200 with the view carrying the mark; audited as box.marked', async () => {
    const id = await atB();
    const res = await mark(id, 1, { correct: false });
    expect(res.statusCode).toBe(200);
    expect(res.json().reads.model.boxMarks).toEqual([{ index: 1, correct: false, userId: expect.any(String), at: expect.any(String) }]);
    const audit = (await f.app.inject({ method: 'GET', url: `/v1/studies/${id}/audit`, headers: f.auth('adjudicator') })).json();
    expect(audit.entries.at(-1)).toMatchObject({ event: 'box.marked', actor: 'user:adam', payload: { index: 1, correct: false } });
  });

  it('401 without a token, 403 for other roles, 400 for a bad index or body, 409 before B', async () => {
    const id = await atB();
    expect((await mark(id, 0, { correct: true }, null)).statusCode).toBe(401);
    for (const role of ['reader', 'engineer', 'admin'] as const) expect((await mark(id, 0, { correct: true }, role)).statusCode).toBe(403);
    for (const [index, body] of [
      [7, { correct: true }],
      ['x', { correct: true }],
      [-1, { correct: true }],
      [0, {}],
      [0, { correct: 'maybe' }],
      [0, { correct: true, extra: 1 }],
    ] as const) {
      const res = await mark(id, index, body);
      expect([res.statusCode, res.json().code], JSON.stringify([index, body])).toEqual([400, 'invalid_input']);
    }
    f.model.next(modelRead('lung-covid', 0.7));
    const fresh = (await postStudy(f.app, f.auth('reader'), { modality: 'cxr' }, png)).json().id as string;
    expect((await mark(fresh, 0, { correct: true })).json()).toMatchObject({ code: 'illegal_transition' });
  });
});
