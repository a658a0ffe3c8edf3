// Scheduled drift checks on PostgreSQL, two API processes' worth of connections: over several intervals the two
// schedulers record one check and raise one alarm per interval between them; two checks racing for the same slot
// id (both past the existence test) end as one row and one DriftCheckRecordedError.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { manualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import type { Db } from '../../storage/db.js';
import { ModelRegistry } from '../../tracking/registry.js';
import { finishedRunWithModel, openTrackingFixture, TEST_CLASSES, type TrackingFixture } from '../../tracking/testing.js';
import type { DriftAlarm } from './alarms.js';
import { DriftCheckRecordedError, runDriftCheck } from './check.js';
import { saveProfile } from './profile.js';
import { DriftScheduler, type DriftScheduleSettings, scheduledCheckId } from './schedule.js';
import { DriftService } from './service.js';
import { listChecks, recordObservation } from './store.js';

const N = 40;
const SETTINGS: DriftScheduleSettings = { intervalSeconds: 300, window: { kind: 'count', size: N }, modality: 'all', alpha: 0.05, minNewReads: 20 };
const row = (i: number, shift = 0) => ({
  modality: 'cxr',
  topClass: TEST_CLASSES[i % 3]!,
  topProbability: 0.55 + (i % 20) * 0.02,
  trueClass: TEST_CLASSES[i % 3]!,
  image: { mean: 60 + i * 2 + shift, std: 20 + (i % 10), width: 64, height: 64 },
});

let fx: TrackingFixture;
let db2: Db;
const clock = manualClock('2026-12-01T10:00:00.000Z');

beforeAll(async () => {
  fx = await openTrackingFixture('postgres');
  db2 = fx.t.openAnother();
  const registry = new ModelRegistry(fx.t.db, fx.objects, fx.tracker);
  await registry.register({ runId: await finishedRunWithModel(fx.tracker), name: 'cxr', by: 't' });
  await registry.setAlias('cxr', 'production', 1, { by: 't', reason: 't' });
  await saveProfile(registry, {
    format: 1,
    model: 'cxr',
    version: 1,
    datasetVersion: 'ds_test',
    split: 'val',
    classes: [...TEST_CLASSES],
    temperature: 1,
    createdAt: clock.now().toISOString(),
    embeddingDim: null,
    rows: Array.from({ length: N }, (_, i) => row(i)),
  });
}, 60_000);
afterAll(async () => {
  await db2?.destroy();
  await fx?.close();
});

async function observe(db: Db, shift: number): Promise<void> {
  for (let i = 0; i < N; i++) {
    const r = row(i, shift);
    await recordObservation(db, {
      studyId: null,
      model: 'cxr',
      version: 1,
      ...r,
      embedding: null,
      at: new Date(clock.now().getTime() - (N - i)).toISOString(),
    });
  }
}

describe('scheduled drift checks on PostgreSQL', () => {
  it('two schedulers on two connections: one check and one alarm per interval', async () => {
    const alarms: DriftAlarm[] = [];
    const make = (db: Db) => {
      const registry = new ModelRegistry(db, fx.objects, fx.tracker);
      const drift = new DriftService({ db, registry, logger: silentLogger, clock });
      drift.alarms.subscribe((a) => void alarms.push(a));
      return new DriftScheduler({ db, registry, check: (r) => drift.check(r), logger: silentLogger, clock }, SETTINGS);
    };
    const a = make(fx.t.db);
    const b = make(db2);
    for (let i = 0; i < 4; i++) {
      clock.advance(1_000);
      await observe(i % 2 ? fx.t.db : db2, 120);
      const outcomes = (await Promise.all([a.tick(), b.tick()])).flat();
      expect(outcomes.filter((o) => o.outcome === 'checked')).toHaveLength(1);
      clock.advance(SETTINGS.intervalSeconds * 1000 - 1_000);
    }
    const checks = (await listChecks(fx.t.db)).filter((c) => c.createdBy === 'schedule');
    expect(checks).toHaveLength(4);
    expect(checks.every((c) => c.detected)).toBe(true);
    expect(alarms.map((x) => x.checkId).sort()).toEqual(checks.map((c) => c.id).sort());
  });

  it('two checks racing for one slot id: one row, one DriftCheckRecordedError', async () => {
    clock.advance(SETTINGS.intervalSeconds * 1000);
    const id = scheduledCheckId(SETTINGS, { model: 'cxr', version: 1, modality: 'all', now: clock.now() });
    const req = { id, model: 'cxr', window: SETTINGS.window, by: 'schedule' };
    const results = await Promise.allSettled(
      [fx.t.db, db2].map((db) => runDriftCheck({ db, registry: new ModelRegistry(db, fx.objects, fx.tracker), clock }, req)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toBeInstanceOf(DriftCheckRecordedError);
    expect((await listChecks(fx.t.db)).filter((c) => c.id === id)).toHaveLength(1);
  });
});
