// The four retrain triggers against a real embedded queue and DB, with a `retrain` handler that holds each job
// until the test lets it go (what the job does is retrain.test.ts's): by hand, on a schedule, on a drift alarm
// (subscribed and polled), on N new labels — each enqueues one job, never a second while one is active.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { newId } from '../core/ids.js';
import { silentLogger } from '../core/logger.js';
import { createInProcessQueue, type JobQueue } from '../jobs/index.js';
import { gate, waitForJob } from '../jobs/testing.js';
import { DriftAlarms, insertCheck } from '../monitoring/drift/index.js';
import type { WorkflowService } from '../workflow/service.js';
import { modelRead, openWorkflowFixture, type WorkflowFixture } from '../workflow/testing.js';
import { parseRetrainPayload, RETRAIN_JOB } from './retrain.js';
import { RetrainTriggers, type TriggerSettings } from './triggers.js';

let fx: WorkflowFixture;
let queue: JobQueue;
let now: number;
let release: ReturnType<typeof gate>;
const clock = { now: () => new Date(now) };

beforeEach(async () => {
  fx = await openWorkflowFixture('sqlite');
  now = Date.parse('2026-06-01T00:00:00.000Z');
  release = gate();
  queue = createInProcessQueue({ db: fx.t.db, logger: silentLogger, pollMs: 20 });
  queue.register(RETRAIN_JOB, async (payload) => {
    await release.promise;
    return { payload: parseRetrainPayload(payload) };
  });
  await queue.start();
});
afterEach(async () => {
  release.open();
  await queue.close();
  await fx.close();
});

const settings = (o: Partial<TriggerSettings> = {}): TriggerSettings => ({
  model: 'cxr-oct',
  onDrift: false,
  includeAutoFinalized: false,
  train: { epochs: 1 },
  ...o,
});
const triggers = (o: Partial<TriggerSettings> = {}) => new RetrainTriggers({ db: fx.t.db, jobs: queue, clock }, settings(o));

async function finishAll(t: RetrainTriggers) {
  release.open();
  const s = await t.state();
  if (s.last_job_id) await waitForJob(queue, s.last_job_id);
  release = gate();
}

async function adjudicate(n: number, wf: WorkflowService) {
  for (let i = 0; i < n; i++) {
    fx.model.next(modelRead('lung-normal', 0.97));
    const s = await wf.intake(fx.users.admin, { modality: 'cxr', image: await fx.image(100 + i) });
    await wf.commitRead(fx.users.reader, s.id, { label: 'lung-covid' });
    await wf.commitRead(fx.users.adjudicator, s.id, { label: 'lung-covid' });
  }
}

function driftCheck(at: string, detected = true) {
  return {
    id: newId('dc_'),
    model: 'cxr-oct',
    version: 1,
    modality: 'cxr' as const,
    window: { kind: 'count' as const, start: at, end: at, observations: 200 },
    alpha: 0.05,
    correction: 'holm' as const,
    tests: [{ test: 'confidence_ks' as const, statistic: 0.4, pValue: 0.001, adjustedPValue: 0.003, detected }],
    skipped: [],
    detected,
    estimatedAccuracy: 0.8,
    realizedAgreement: 0.7,
    agreementReads: 150,
    createdBy: 'test',
    createdAt: at,
  };
}

describe('RetrainTriggers', () => {
  it('by hand: enqueues a retrain of the production model with the configured options; refuses a second while it runs', async () => {
    const t = triggers();
    const job = await t.manual('alice', { note: 'new scanner' });
    expect(job).toMatchObject({
      kind: 'retrain',
      createdBy: 'alice',
      payload: { model: 'cxr-oct', trigger: { kind: 'manual', detail: { note: 'new scanner' } }, train: { epochs: 1 } },
    });
    await expect(t.manual('bob')).rejects.toMatchObject({ code: 'conflict', httpStatus: 409 });
    await finishAll(t);
    expect((await t.manual('bob')).id).not.toBe(job.id);
    expect(await t.state()).toMatchObject({ last_trigger: 'manual', last_enqueued_at: '2026-06-01T00:00:00.000Z' });
  });

  it('on a schedule: the first check starts the clock, then one retrain per period', async () => {
    const t = triggers({ everyHours: 24 });
    expect(await t.check()).toEqual([]);
    now += 23 * 3_600_000;
    expect(await t.check()).toEqual([]);
    now += 3_600_000;
    const [r] = await t.check();
    expect(r).toMatchObject({ enqueued: true, job: { payload: { trigger: { kind: 'schedule', detail: { everyHours: 24 } } } } });
    expect(await t.check()).toEqual([]);
    // A period that falls while the last retrain still runs is skipped, not queued behind it.
    now += 24 * 3_600_000;
    expect(await t.check()).toMatchObject([{ enqueued: false, reason: expect.stringMatching(/is (queued|running)/) }]);
    await finishAll(t);
    expect(await t.check()).toEqual([]);
  });

  it('on a drift alarm: the subscriber enqueues once per alarm; polling sees alarms another process raised; other models and old alarms are ignored', async () => {
    const t = triggers({ onDrift: true });
    const alarms = new DriftAlarms();
    const seen: unknown[] = [];
    alarms.subscribe(async (a) => void seen.push(await t.onDriftAlarm(a)));
    const alarm = {
      checkId: 'dc_1',
      model: 'cxr-oct',
      version: 1,
      modality: 'cxr' as const,
      window: { kind: 'count' as const, start: 'a', end: 'b', observations: 200 },
      tests: ['confidence_ks' as const],
      alpha: 0.05,
      at: '2026-06-01T00:00:01.000Z',
    };
    await alarms.emit(alarm);
    await alarms.emit(alarm); // the same alarm twice (e.g. also found by polling): acted on once
    await alarms.emit({ ...alarm, model: 'other' });
    expect(seen[0]).toMatchObject({ enqueued: true, job: { payload: { trigger: { kind: 'drift', detail: { checkId: 'dc_1', tests: ['confidence_ks'] } } } } });
    expect(seen.slice(1)).toEqual([undefined, undefined]);
    await finishAll(t);

    // Polled: a detecting check recorded by the drift checker of another process; a non-detecting one is no alarm.
    await insertCheck(fx.t.db, driftCheck('2026-06-01T00:00:02.000Z', false));
    expect(await t.check()).toEqual([]);
    const check = driftCheck('2026-06-01T00:00:03.000Z');
    await insertCheck(fx.t.db, check);
    expect(await t.check()).toMatchObject([{ enqueued: true, job: { payload: { trigger: { kind: 'drift', detail: { checkId: check.id } } } } }]);
    await finishAll(t);
    expect(await t.check()).toEqual([]);
    expect((await t.state()).drift_cursor).toBe(check.createdAt);
  });

  it('on N new labels: counts studies finalized since the last retrain', async () => {
    const wf = fx.service({ random: () => 0.5, clock: { now: () => new Date((now += 1000)) } });
    await wf.policies.create({ modelName: 'cxr-oct', modelVersion: 1, rule: { thresholds: { 'lung-normal': 0.9 }, qaFraction: 0.05 }, by: 'test' });
    const t = triggers({ newLabels: 3 });
    await adjudicate(2, wf);
    expect(await t.check()).toEqual([]);
    await adjudicate(1, wf);
    expect(await t.check()).toMatchObject([{ enqueued: true, job: { payload: { trigger: { kind: 'labels', detail: { newLabels: 3, threshold: 3 } } } } }]);
    await finishAll(t);
    expect(await t.check()).toEqual([]); // counted from the last retrain on
    await adjudicate(3, wf);
    expect(await t.check()).toMatchObject([{ enqueued: true }]);
  });

  it('two processes checking one DB enqueue one retrain', async () => {
    const [a, b] = [triggers({ onDrift: true }), triggers({ onDrift: true })];
    await insertCheck(fx.t.db, driftCheck('2026-06-01T00:00:05.000Z'));
    const outcomes = (await Promise.all([a.check(), b.check()])).flat();
    expect(outcomes.filter((o) => o.enqueued)).toHaveLength(1);
    const jobs = await fx.t.db.selectFrom('jobs').select('id').where('kind', '=', RETRAIN_JOB).execute();
    expect(jobs).toHaveLength(1);
  });
});
