// The rollout routes against a real RolloutService (the rollout fixture's registry and a passing candidate):
// who may do what, the shapes on the wire, and that changes are audited with the token's user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../core/logger.js';
import { RolloutService } from '../../rollout/index.js';
import { openRolloutFixture, type RolloutFixture, testProtocol } from '../../rollout/testing.js';
import { listAudit } from '../../workflow/audit.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';

let rf: RolloutFixture;
let f: ApiFixture;
let candidate: number;
let reportId: string;

beforeAll(async () => {
  rf = await openRolloutFixture();
  const rollout = new RolloutService({ db: rf.db, objects: rf.objects, registry: rf.registry, logger: silentLogger });
  candidate = await rf.candidate();
  reportId = (await rollout.evaluate({ model: rf.model, version: candidate }, testProtocol(rf.lockedDataset), { by: 'emil' })).id;
  f = await openApiFixture({ deps: { rollout } });
});
afterAll(async () => {
  await f?.close();
  await rf?.close();
});

describe('rollout routes', () => {
  it('lists the protocol reports of a version with their criteria, and one report whole', async () => {
    const list = await f.app.inject({ url: `/v1/models/${rf.model}/protocol-reports?version=${candidate}`, headers: f.auth('reader') });
    expect(list.statusCode).toBe(200);
    expect(list.json().reports).toEqual([
      expect.objectContaining({
        id: reportId,
        version: candidate,
        baselineVersion: 1,
        passed: true,
        protocol: expect.objectContaining({ name: 'test-protocol' }),
      }),
    ]);
    expect(list.json().reports[0].criteria).toHaveLength(7);
    const one = await f.app.inject({ url: `/v1/protocol-reports/${reportId}`, headers: f.auth('reader') });
    expect(one.statusCode).toBe(200);
    expect(one.json().report.latency.requests).toBe(20);
    expect((await f.app.inject({ url: '/v1/protocol-reports/rr_nope', headers: f.auth('reader') })).statusCode).toBe(404);
  });

  it('a model without a rollout: 404 with the error body', async () => {
    const r = await f.app.inject({ url: `/v1/models/${rf.model}/rollout`, headers: f.auth('reader') });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ code: 'not_found' });
  });

  it('only ML engineers and admins start, step and roll back; each change is audited with the user', async () => {
    expect((await f.app.inject({ method: 'POST', url: `/v1/models/${rf.model}/rollout`, payload: {} })).statusCode).toBe(401);
    expect((await f.app.inject({ method: 'POST', url: `/v1/models/${rf.model}/rollout`, payload: {}, headers: f.auth('reader') })).statusCode).toBe(403);
    const start = await f.app.inject({ method: 'POST', url: `/v1/models/${rf.model}/rollout`, payload: {}, headers: f.auth('engineer') });
    expect(start.statusCode).toBe(200);
    expect(start.json()).toMatchObject({ status: 'active', candidateVersion: candidate, baselineVersion: 1, weight: 0.05, steps: [0.05, 0.25, 1], reportId });
    const again = await f.app.inject({ method: 'POST', url: `/v1/models/${rf.model}/rollout`, payload: {}, headers: f.auth('engineer') });
    expect(again.statusCode).toBe(409);

    const status = await f.app.inject({ url: `/v1/models/${rf.model}/rollout`, headers: f.auth('reader') });
    expect(status.json().judgement).toMatchObject({ decision: 'wait', reasons: [] });
    expect(status.json().judgement.guards.map((g: { guard: string }) => g.guard)).toEqual(['agreement', 'qa_false_clear', 'error_rate', 'latency_p95']);

    const step = await f.app.inject({ method: 'POST', url: `/v1/models/${rf.model}/rollout/step`, headers: f.auth('admin') });
    expect(step.statusCode).toBe(200);
    expect(step.json()).toMatchObject({ action: 'waiting', rollout: { step: 0 } });

    const noReason = await f.app.inject({ method: 'POST', url: `/v1/models/${rf.model}/rollout/rollback`, payload: {}, headers: f.auth('engineer') });
    expect(noReason.statusCode).toBe(400);
    const back = await f.app.inject({
      method: 'POST',
      url: `/v1/models/${rf.model}/rollout/rollback`,
      payload: { reason: 'pausing for the weekend' },
      headers: f.auth('engineer'),
    });
    expect(back.statusCode).toBe(200);
    expect(back.json()).toMatchObject({ status: 'rolled_back', weight: 0, endedReason: 'pausing for the weekend' });
    expect((await listAudit(rf.db)).at(-1)).toMatchObject({ event: 'rollout.rolled_back', actor: 'user:emil' });
    const list = await f.app.inject({ url: `/v1/rollouts?model=${rf.model}`, headers: f.auth('reader') });
    expect(list.json().rollouts).toEqual([expect.objectContaining({ status: 'rolled_back' })]);
  });
});
