// GET /v1/workflow/metrics over HTTP: the service's figures, with the economics used, and `since`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { modelRead } from '../../workflow/testing.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';
import { postRead, postStudy } from '../testing/http.js';

const economics = { minutesPerRead: { cxr: 2, oct: 5 }, costPerRead: { cxr: 10, oct: 40 }, inferenceCostPerStudy: 0.5, currency: 'CHF' };
let f: ApiFixture;
beforeAll(async () => {
  f = await openApiFixture({ workflow: { economics } });
});
afterAll(async () => {
  await f.close();
});

describe('GET /v1/workflow/metrics', () => {
  it('figures of what happened over HTTP, priced with the configured economics', async () => {
    await f.workflow.policies.create({ modelName: 'cxr-oct', modelVersion: 1, rule: { thresholds: { 'lung-normal': 0.9 } }, by: 'test' });
    for (const [model, a] of [
      ['lung-normal', 'lung-normal'],
      ['lung-normal', 'lung-covid'],
    ] as const) {
      f.model.next(modelRead(model, 0.97));
      const id = (await postStudy(f.app, f.auth('reader'))).json().id as string;
      expect((await postRead(f.app, f.auth('reader'), id, a)).statusCode).toBe(200);
    }
    const res = await f.app.inject({ method: 'GET', url: '/v1/workflow/metrics', headers: f.auth('engineer') });
    expect(res.statusCode).toBe(200);
    const m = res.json();
    expect(m).toMatchObject({
      since: null,
      studies: 2,
      decided: 2,
      autoFinalized: 1,
      secondRead: 1,
      secondReviewReduction: { numerator: 1, denominator: 2, rate: 0.5 },
      falseClear: { qa: { numerator: 0, denominator: 0, rate: null }, truth: { rate: null } },
      worklistDepth: { A: 0, B: 1, qaInB: 0 },
      savings: {
        economics,
        minutesSaved: 2,
        costSaved: 10 - 2 * 0.5,
        costSavedPerScan: 4.5,
        byModality: { cxr: { autoFinalized: 1, modelReads: 2 }, oct: { autoFinalized: 0 } },
      },
    });
    expect(m.agreementByClass).toEqual([
      { class: 'lung-covid', numerator: 0, denominator: 1, rate: 0 },
      { class: 'lung-normal', numerator: 1, denominator: 1, rate: 1 },
    ]);
    expect(m.turnaroundSeconds).toMatchObject({ count: 1 });

    const later = (await f.app.inject({ method: 'GET', url: '/v1/workflow/metrics?since=2999-01-01T00:00:00Z', headers: f.auth('admin') })).json();
    expect(later).toMatchObject({ since: '2999-01-01T00:00:00.000Z', studies: 0, secondReviewReduction: { rate: null }, worklistDepth: { B: 1 } });
    const bad = await f.app.inject({ method: 'GET', url: '/v1/workflow/metrics?since=yesterday', headers: f.auth('admin') });
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'invalid_input']);
  });
});
