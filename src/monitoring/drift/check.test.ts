// Profile → observations → check, on the evaluation fixture's brightness classifier (its answer follows from the
// image's grey value, so the windows' outcomes are known in advance): a window like the validation split passes, a
// brighter one is detected, recorded, raised as an alarm and shown in the gauges; the embedding test is skipped
// with its reason because that model exports no embedding.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { manualClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { grayPng } from '../../data/images/testing.js';
import { BRIGHTNESS_SIZE, type FixtureImage } from '../evaluations/testing.js';
import { Metrics } from '../metrics.js';
import { type DriftAlarm, DriftAlarms, driftAlarmsSince } from './alarms.js';
import { DriftWindowTooSmallError, runDriftCheck } from './check.js';
import { observeRead } from './observe.js';
import { computeProfile, loadProfile, NoDriftProfileError, profileSummary } from './profile.js';
import { listChecks } from './store.js';
import { type DriftFixture, openDriftFixture } from './testing.js';

const VAL_VALUES = Array.from({ length: 40 }, (_, i) => 20 + i * 5); // 20…215: all three classes
const VAL: FixtureImage[] = VAL_VALUES.map((value) => ({
  class: value < 77 ? 'lung-normal' : value < 178 ? 'lung-covid' : 'oct-cnv',
  split: 'val',
  value,
}));

describe('drift check', () => {
  let f: DriftFixture;
  beforeEach(async () => {
    f = await openDriftFixture(VAL);
  });
  afterEach(async () => f.close());

  async function observe(values: readonly number[], clock: ReturnType<typeof manualClock>): Promise<void> {
    const model = await f.registry.loadForInference(f.model, { version: 1 });
    try {
      for (const v of values) {
        const png = await grayPng(BRIGHTNESS_SIZE, BRIGHTNESS_SIZE, () => v);
        const p = await model.predict(png);
        clock.advance(1000);
        await observeRead(f.db, { studyId: null, model: f.model, version: 1, modality: 'cxr', top: p.top, image: png, at: clock.now().toISOString() });
      }
    } finally {
      await model.close();
    }
  }

  it('passes a window like the validation split and detects a brighter one', async () => {
    const mv = await f.registry.resolve(f.model, { version: 1 });
    await expect(runDriftCheck({ db: f.db, registry: f.registry }, { model: f.model, window: { kind: 'count', size: 40 }, by: 't' })).rejects.toBeInstanceOf(
      NoDriftProfileError,
    );
    const profile = await computeProfile({ db: f.db, objects: f.objects, registry: f.registry, logger: silentLogger }, mv, { datasetVersion: f.valVersion });
    expect(profile.embeddingDim).toBeNull();
    expect(profile.rows).toHaveLength(40);
    expect(await loadProfile(f.registry, f.model, 1)).toEqual(profile);
    const summary = profileSummary(profile);
    expect(summary.images).toBe(40);
    expect(summary.modalityMix).toEqual({ cxr: VAL.filter((v) => v.class !== 'oct-cnv').length, oct: VAL.filter((v) => v.class === 'oct-cnv').length });

    const clock = manualClock('2026-12-01T00:00:00.000Z');
    const alarms = new DriftAlarms(silentLogger);
    const raised: DriftAlarm[] = [];
    alarms.subscribe((a) => {
      raised.push(a);
    });
    const metrics = new Metrics({ processMetrics: false });
    const deps = { db: f.db, registry: f.registry, alarms, clock, onCheck: (c: Parameters<Metrics['setDriftGauges']>[0]) => metrics.setDriftGauges(c) };

    await observe(VAL_VALUES.slice(0, 10), clock);
    await expect(runDriftCheck(deps, { model: f.model, window: { kind: 'count', size: 40 }, by: 't' })).rejects.toBeInstanceOf(DriftWindowTooSmallError);
    await observe(VAL_VALUES.slice(10), clock);
    const same = await runDriftCheck(deps, { model: f.model, window: { kind: 'count', size: 40 }, by: 't' });
    expect(same.detected).toBe(false);
    expect(same.window.observations).toBe(40);
    expect(same.tests.map((t) => t.test).sort()).toEqual(['class_chi2', 'confidence_ks', 'image_size_ks', 'intensity_mean_ks', 'intensity_std_ks']);
    for (const t of same.tests) expect(t.pValue).toBeGreaterThan(0.5);
    expect(same.skipped).toEqual([{ test: 'embedding_mmd', reason: 'the reference profile has no embeddings (the model exports none)' }]);
    expect(same.estimatedAccuracy).toBeCloseTo(profileSummary(profile).expectedAccuracy, 10);
    expect(same.realizedAgreement).toBeNull();

    await observe(
      Array.from({ length: 40 }, (_, i) => 170 + i * 2),
      clock,
    );
    const bright = await runDriftCheck(deps, { model: f.model, window: { kind: 'time', seconds: 60 }, by: 't' });
    expect(bright.window.observations).toBe(60); // the last 60 s: one read per second
    const shifted = await runDriftCheck(deps, { model: f.model, window: { kind: 'count', size: 40 }, by: 't' });
    expect(shifted.detected).toBe(true);
    const byTest = Object.fromEntries(shifted.tests.map((t) => [t.test, t]));
    expect(byTest.intensity_mean_ks!.detected).toBe(true);
    expect(byTest.class_chi2!.detected).toBe(true);
    for (const t of shifted.tests) expect(t.adjustedPValue).toBeGreaterThanOrEqual(t.pValue);

    expect(raised.map((a) => a.checkId)).toEqual([bright.id, shifted.id]);
    expect((await driftAlarmsSince(f.db)).map((a) => a.checkId)).toEqual([bright.id, shifted.id]);
    expect((await listChecks(f.db)).map((c) => c.id)).toEqual([shifted.id, bright.id, same.id]);
    const text = await metrics.render();
    expect(text).toContain('secondread_drift_detected{model="brightness"} 1');
    expect(text).toMatch(/secondread_drift_p_value\{model="brightness",test="intensity_mean_ks"\} \d/);
    expect(text).not.toContain('test="embedding_mmd"');
  });
});
