// Scheduled drift checks: with a fake clock the scheduler checks the production model once per interval, only when
// enough new reads arrived, and raises the alarm a shifted window deserves; two schedulers on one database (two
// connections, as two API processes) record one check — and one alarm — per interval between them.
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { manualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { type Db, openDatabase } from '../../storage/db.js';
import { FsObjectStore } from '../../storage/fs-object-store.js';
import { ModelRegistry } from '../../tracking/registry.js';
import { Tracker } from '../../tracking/tracker.js';
import { BRIGHTNESS_CLASSES, brightnessClassifierOnnx, brightnessMeta, type EvaluationFixture, openEvaluationFixture } from '../evaluations/testing.js';
import { Metrics } from '../metrics.js';
import type { DriftAlarm } from './alarms.js';
import { DriftCheckRecordedError, runDriftCheck } from './check.js';
import { type ProfileRow, saveProfile } from './profile.js';
import { DriftScheduler, type DriftScheduleSettings, scheduledCheckId, scheduleSettings } from './schedule.js';
import { DriftService } from './service.js';
import { listChecks, recordObservation } from './store.js';

const N = 40;
/** Read i of the reference distribution; `shift` brightens the image (the intensity tests see it). */
function row(i: number, shift = 0): ProfileRow {
  return {
    modality: 'cxr',
    topClass: BRIGHTNESS_CLASSES[i % 3]!,
    topProbability: 0.55 + (i % 20) * 0.02,
    trueClass: BRIGHTNESS_CLASSES[i % 3]!,
    image: { mean: 60 + i * 2 + shift, std: 20 + (i % 10), width: 64, height: 64 },
  };
}

const SETTINGS: DriftScheduleSettings = { intervalSeconds: 60, window: { kind: 'count', size: N }, modality: 'all', alpha: 0.05, minNewReads: 20 };

describe('scheduled drift checks', () => {
  let f: EvaluationFixture;
  beforeEach(async () => {
    f = await openEvaluationFixture(); // 'brightness' v1 is production
    await saveProfile(f.registry, {
      format: 1,
      model: f.model,
      version: 1,
      datasetVersion: f.datasetVersion,
      split: 'val',
      classes: [...BRIGHTNESS_CLASSES],
      temperature: 1,
      createdAt: '2026-12-01T00:00:00.000Z',
      embeddingDim: null,
      rows: Array.from({ length: N }, (_, i) => row(i)),
    });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await f.close();
  });

  async function observe(db: Db, n: number, at: () => Date, shift = 0): Promise<void> {
    for (let i = 0; i < n; i++) {
      const r = row(i, shift);
      await recordObservation(db, {
        studyId: null,
        model: f.model,
        version: 1,
        modality: r.modality,
        topClass: r.topClass,
        topProbability: r.topProbability,
        image: r.image,
        embedding: null,
        at: new Date(at().getTime() - (n - i)).toISOString(),
      });
    }
  }

  it('reads the config: off at 0, else the interval, the parsed window and the thresholds', () => {
    const base = { profileOnRegister: true, window: '24h', modality: 'oct' as const, alpha: 0.01, minNewReads: 5 };
    expect(scheduleSettings({ ...base, checkIntervalSeconds: 0 })).toBeNull();
    expect(scheduleSettings({ ...base, checkIntervalSeconds: 300 })).toEqual({
      intervalSeconds: 300,
      window: { kind: 'time', seconds: 86_400 },
      modality: 'oct',
      alpha: 0.01,
      minNewReads: 5,
    });
  });

  it('checks the production model at the configured interval (fake clock), only with new reads, and raises the alarm', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
    vi.setSystemTime(new Date('2026-12-01T10:00:30.000Z'));
    const metrics = new Metrics({ processMetrics: false });
    const drift = new DriftService({ db: f.db, registry: f.registry, logger: silentLogger, metrics });
    const alarms: DriftAlarm[] = [];
    drift.alarms.subscribe((a) => void alarms.push(a));
    const scheduler = new DriftScheduler({ db: f.db, registry: f.registry, check: (r) => drift.check(r), logger: silentLogger }, SETTINGS);
    await observe(f.db, N, () => new Date());
    scheduler.start();
    const advance = async (ms: number): Promise<void> => {
      await vi.advanceTimersByTimeAsync(ms);
      await scheduler.settled();
    };

    await advance(59_000);
    expect(await listChecks(f.db)).toHaveLength(0); // not before the first interval
    await advance(1_000);
    const [first, ...none] = await listChecks(f.db);
    expect(none).toHaveLength(0);
    expect(first).toMatchObject({ model: 'brightness', version: 1, modality: 'all', detected: false, createdBy: 'schedule' });
    expect(first!.window.observations).toBe(N);
    expect(first!.createdAt).toBe('2026-12-01T10:01:30.000Z');

    await advance(60_000); // no new reads: no new check
    await observe(f.db, 10, () => new Date());
    await advance(60_000); // 10 new reads < minNewReads
    expect(await listChecks(f.db)).toHaveLength(1);

    await observe(f.db, N, () => new Date(), 120); // a brighter window
    await advance(60_000);
    const checks = await listChecks(f.db);
    expect(checks).toHaveLength(2);
    expect(checks[0]!.detected).toBe(true);
    expect(checks[0]!.createdAt).toBe('2026-12-01T10:04:30.000Z');
    expect(alarms.map((a) => a.checkId)).toEqual([checks[0]!.id]);
    expect(await metrics.render()).toContain('secondread_drift_detected{model="brightness"} 1');

    await scheduler.stop();
    await observe(f.db, N, () => new Date(), 120);
    await advance(600_000); // stopped: nothing more
    expect(await listChecks(f.db)).toHaveLength(2);
  });

  it('skips a production model without a profile, and a model without a production version', async () => {
    const clock = manualClock('2026-12-01T10:00:00.000Z');
    const mv = await f.registry.importOnnxBytes({ name: 'unprofiled', bytes: brightnessClassifierOnnx(), meta: brightnessMeta(), by: 't' });
    const drift = new DriftService({ db: f.db, registry: f.registry, logger: silentLogger, clock });
    const scheduler = new DriftScheduler({ db: f.db, registry: f.registry, check: (r) => drift.check(r), logger: silentLogger, clock }, SETTINGS);
    await observe(f.db, N, () => clock.now());
    expect((await scheduler.tick()).map((o) => [o.model, o.outcome])).toEqual([['brightness', 'checked']]); // 'unprofiled' has no production alias
    await f.registry.setAlias(mv.name, 'production', mv.version, { by: 't', reason: 't' });
    for (let i = 0; i < N; i++)
      await recordObservation(f.db, {
        studyId: null,
        model: mv.name,
        version: mv.version,
        modality: 'cxr',
        topClass: 'lung-normal',
        topProbability: 0.9,
        image: null,
        embedding: null,
        at: clock.now().toISOString(),
      });
    clock.advance(60_000);
    expect(await scheduler.tick()).toEqual([
      { model: 'brightness', version: 1, outcome: 'skipped', reason: '0 new reads since the last check (fewer than 20)' },
      { model: 'unprofiled', version: mv.version, outcome: 'skipped', reason: 'no reference profile' },
    ]);
  });

  it('two schedulers sharing one database record one check and raise one alarm per interval', async () => {
    const clock = manualClock('2026-12-01T10:00:00.000Z');
    // A second "process": its own connection, object store, registry, drift service and alarms.
    const db2 = openDatabase({ sqlitePath: join(f.home, 'secondread.db') });
    const objects2 = new FsObjectStore(join(f.home, 'objects'));
    try {
      const registry2 = new ModelRegistry(db2, objects2, new Tracker(db2, objects2));
      const alarms: DriftAlarm[] = [];
      const make = (db: Db, registry: ModelRegistry): DriftScheduler => {
        const drift = new DriftService({ db, registry, logger: silentLogger, clock });
        drift.alarms.subscribe((a) => void alarms.push(a));
        return new DriftScheduler({ db, registry, check: (r) => drift.check(r), logger: silentLogger, clock }, SETTINGS);
      };
      const a = make(f.db, f.registry);
      const b = make(db2, registry2);

      for (let interval = 0; interval < 3; interval++) {
        await observe(f.db, N, () => clock.now(), 120); // drift every interval
        const outcomes = (await Promise.all([a.tick(), b.tick()])).flat();
        expect(outcomes.filter((o) => o.outcome === 'checked')).toHaveLength(1);
        expect(outcomes.filter((o) => o.outcome === 'skipped')).toHaveLength(1);
        // A third pass in the same interval, after new reads: the slot is taken.
        clock.advance(1_000);
        await observe(db2, N, () => clock.now(), 120);
        expect((await b.tick())[0]).toMatchObject({ outcome: 'skipped', reason: 'checked in this interval by another process' });
        clock.advance(59_000);
      }
      const checks = await listChecks(f.db);
      expect(checks).toHaveLength(3);
      expect(new Set(checks.map((c) => c.id)).size).toBe(3);
      expect(alarms).toHaveLength(3);
      expect(alarms.map((x) => x.checkId).sort()).toEqual(checks.map((c) => c.id).sort());
    } finally {
      await objects2.close();
      await db2.destroy();
    }
  });

  it('a check whose slot id another process recorded first is refused, not recorded twice', async () => {
    const clock = manualClock('2026-12-01T10:00:00.000Z');
    await observe(f.db, N, () => clock.now());
    const id = scheduledCheckId(SETTINGS, { model: f.model, version: 1, modality: 'all', now: clock.now() });
    expect(scheduledCheckId(SETTINGS, { model: f.model, version: 1, modality: 'all', now: new Date(clock.now().getTime() + 59_999) })).toBe(id);
    expect(scheduledCheckId(SETTINGS, { model: f.model, version: 1, modality: 'all', now: new Date(clock.now().getTime() + 60_000) })).not.toBe(id);
    const req = { id, model: f.model, window: SETTINGS.window, by: 'schedule' };
    await runDriftCheck({ db: f.db, registry: f.registry, clock }, req);
    await expect(runDriftCheck({ db: f.db, registry: f.registry, clock }, req)).rejects.toBeInstanceOf(DriftCheckRecordedError);
    expect(await listChecks(f.db)).toHaveLength(1);
  });
});
