// The rollout service with a real registry, a real ONNX classifier scored through the evaluation and serving
// code, and the workflow's tables: evaluation verdicts (pass → staging with its own policy, fail → rejected with
// reasons), then the canary's steps judged from recorded studies and serving figures, promotion, and the
// automatic rollback with its audit entry.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import { Metrics } from '../monitoring/metrics.js';
import { ServingService } from '../serving/service.js';
import { listAudit, verifyAuditLog } from '../workflow/audit.js';
import { PolicyStore } from '../workflow/policies.js';
import { collectRolloutGauges } from './gauges.js';
import { RolloutService } from './service.js';
import { ServingStatsRecorder } from './serving-stats.js';
import { openRolloutFixture, recordArm, type RolloutFixture, testProtocol } from './testing.js';

let fx: RolloutFixture;
let svc: RolloutService;
const alice = { by: 'alice' };

beforeEach(async () => {
  fx = await openRolloutFixture();
  svc = new RolloutService({ db: fx.db, objects: fx.objects, registry: fx.registry, logger: silentLogger, clock: fx.clock });
});
afterEach(async () => {
  await fx.close();
});

describe('candidate evaluation', () => {
  it('a candidate as good as production passes: report stored, staging moved, its own policy, card and audit', async () => {
    const v = await fx.candidate({ temperature: 1.2 });
    const r = await svc.evaluate({ model: fx.model, version: v }, testProtocol(fx.lockedDataset), alice);
    expect(r.failures).toEqual([]);
    expect(r.passed).toBe(true);
    expect(r.baselineVersion).toBe(1);
    expect(r.report.criteria.map((c) => [c.criterion, c.split, c.passed])).toEqual([
      ['accuracy', 'test', true],
      ['macro_f1', 'test', true],
      ['accuracy', 'final_eval', true],
      ['macro_f1', 'final_eval', true],
      ['false_clear', null, true],
      ['ece', 'test', true],
      ['latency_p95', null, true],
    ]);
    // Both classify every image right: the paired difference is exactly 0.
    expect(r.report.comparisons[0]!.comparison).toMatchObject({ images: 90, accuracy: { difference: 0, lower: 0, upper: 0 } });
    expect(r.report.latency.requests).toBe(20);
    expect(r.report.latency.p95Ms).toBeGreaterThan(0);
    expect((await fx.registry.aliases(fx.model)).staging).toBe(v);
    const policy = await new PolicyStore(fx.db).inForce(fx.model, v);
    expect(policy?.id).toBe(r.report.policy?.id);
    expect(policy?.thresholds).toEqual(r.report.policyRule.thresholds);
    const card = await fx.registry.modelCard(fx.model, v);
    expect(card.changeProtocol).toEqual([
      expect.objectContaining({ reportId: r.id, passed: true, protocol: expect.objectContaining({ name: 'test-protocol', version: 3 }) }),
    ]);
    const md = (await fx.objects.getBytes(`models/${fx.model}/${v}/model-card.md`)).toString('utf8');
    expect(md).toContain('## Change protocol: test-protocol v3 — passed');
    const audit = await listAudit(fx.db);
    expect(audit.at(-1)).toMatchObject({ event: 'rollout.evaluated', actor: 'user:alice', payload: expect.objectContaining({ reportId: r.id, passed: true }) });
    expect((await verifyAuditLog(fx.db)).ok).toBe(true);
  });

  it('a bad candidate is rejected with its reasons; staging and policies stay as they were', async () => {
    const v = await fx.candidate({ permuted: true });
    const r = await svc.evaluate({ model: fx.model, version: v }, testProtocol(fx.lockedDataset), alice);
    expect(r.passed).toBe(false);
    const failed = r.report.criteria.filter((c) => !c.passed).map((c) => `${c.criterion}/${c.split}`);
    expect(failed).toEqual(expect.arrayContaining(['accuracy/test', 'macro_f1/test', 'accuracy/final_eval', 'macro_f1/final_eval']));
    expect(r.failures.join('\n')).toMatch(/accuracy \(test\): candidate 0\.333 vs production 1\.000: difference −?-0\.667/);
    expect((await fx.registry.aliases(fx.model)).staging).toBeUndefined();
    expect(await new PolicyStore(fx.db).inForce(fx.model, v)).toBeNull();
    expect((await fx.registry.modelCard(fx.model, v)).changeProtocol?.[0]?.passed).toBe(false);
    expect(await svc.reports(fx.model, v)).toEqual([expect.objectContaining({ id: r.id, passed: false })]);
    await expect(svc.start({ model: fx.model, version: v }, alice)).rejects.toThrow(/was rejected by change protocol test-protocol/);
  });

  it('a protocol for another model or the production version itself is refused', async () => {
    const p = testProtocol(fx.lockedDataset);
    await expect(svc.evaluate({ model: fx.model, version: 1 }, p, alice)).rejects.toThrow(/is production already/);
    const other = { ...p, protocol: { ...p.protocol, model: 'other' } };
    await expect(svc.evaluate({ model: fx.model, version: 1 }, other, alice)).rejects.toThrow(/governs model 'other'/);
  });
});

describe('staged canary', () => {
  /** A passing candidate in staging, its rollout started. */
  async function started(o: Parameters<typeof testProtocol>[1] = {}) {
    const v = await fx.candidate();
    await svc.evaluate({ model: fx.model, version: v }, testProtocol(fx.lockedDataset, o), alice);
    fx.clock.advance(1000);
    const r = await svc.start({ model: fx.model }, alice);
    return { v, r };
  }

  /** Serving figures for both arms, through the recorder the server uses. */
  async function served(v: number, n: number, o: { errors?: number; canaryMs?: number } = {}) {
    const rec = new ServingStatsRecorder({ db: fx.db, logger: silentLogger, clock: fx.clock }, { flushMs: 0 });
    const top = { class: 'lung-covid', probability: 0.9 };
    for (let i = 0; i < n; i++) {
      rec.prediction({ model: fx.model, version: 1, route: 'production' }, top, 20);
      if (i < (o.errors ?? 0)) rec.dropped({ model: fx.model, version: v }, 'timeout');
      else rec.prediction({ model: fx.model, version: v, route: 'canary' }, top, o.canaryMs ?? 20);
    }
    await rec.close();
  }

  it('steps 5% → 25% → production only once each step has its samples; promotion carries the candidate’s policy', async () => {
    const { v, r } = await started();
    expect(r).toMatchObject({ status: 'active', step: 0, weight: 0.05, candidateVersion: v, baselineVersion: 1 });
    expect(await fx.registry.aliases(fx.model)).toMatchObject({ production: 1, canary: v, staging: v });
    expect(await svc.canaryWeight(fx.model)).toBe(0.05);
    await expect(svc.start({ model: fx.model }, alice)).rejects.toThrow(/already has an active rollout/);

    // Minimum sample not reached: no step.
    fx.clock.advance(1000);
    const at = () => fx.clock.now().toISOString();
    await recordArm(fx.db, { model: fx.model, version: v, at: at(), n: 20, agree: 18, qa: 2 });
    await recordArm(fx.db, { model: fx.model, version: 1, at: at(), n: 200, agree: 180 });
    await served(v, 100);
    let s = await svc.step(fx.model, { by: 'gate', automatic: true });
    expect(s.action).toBe('waiting');
    expect(s.judgement.waitingFor).toEqual([expect.stringMatching(/agreement with reader A: 20 canary \/ 200 production studies of 40 needed/)]);
    expect((await svc.current(fx.model)).step).toBe(0);

    await recordArm(fx.db, { model: fx.model, version: v, at: at(), n: 30, agree: 27 });
    s = await svc.step(fx.model, { by: 'gate', automatic: true });
    expect(s.action).toBe('advanced');
    expect(s.rollout).toMatchObject({ step: 1, weight: 0.25, status: 'active' });

    // The new step starts a fresh window: the figures of step 1 do not count for step 2.
    fx.clock.advance(1000);
    expect((await svc.step(fx.model, { by: 'gate', automatic: true })).action).toBe('waiting');
    await recordArm(fx.db, { model: fx.model, version: v, at: at(), n: 50, agree: 45, qa: 3 });
    await recordArm(fx.db, { model: fx.model, version: 1, at: at(), n: 150, agree: 135 });
    await served(v, 60);
    s = await svc.step(fx.model, { by: 'gate', automatic: true });
    expect(s.action).toBe('promoted');
    expect(s.rollout).toMatchObject({ status: 'promoted', weight: 0 });
    expect((await fx.registry.aliases(fx.model)).production).toBe(v);
    expect(await svc.canaryWeight(fx.model)).toBeNull();
    expect(await new PolicyStore(fx.db).inForce(fx.model, v)).not.toBeNull();
    const events = (await listAudit(fx.db)).map((e) => e.event).filter((e) => e.startsWith('rollout.'));
    expect(events).toEqual(['rollout.evaluated', 'rollout.started', 'rollout.stepped', 'rollout.promoted']);
    const history = await fx.registry.aliasHistory(fx.model);
    expect(history.map((h) => [h.alias, h.version])).toEqual([
      ['production', 1],
      ['staging', v],
      ['canary', v],
      ['production', v],
    ]);
  });

  it('a canary that degrades is rolled back automatically: canary back to production, audit entry, gauge', async () => {
    const { v } = await started();
    fx.clock.advance(1000);
    const at = fx.clock.now().toISOString();
    // Agreement with A: 60% on the canary vs 90% on production.
    await recordArm(fx.db, { model: fx.model, version: v, at, n: 50, agree: 30 });
    await recordArm(fx.db, { model: fx.model, version: 1, at, n: 200, agree: 180 });
    const s = await svc.step(fx.model, { by: 'rollout-gate', automatic: true });
    expect(s.action).toBe('rolled_back');
    expect(s.rollout).toMatchObject({ status: 'rolled_back', weight: 0 });
    expect(s.rollout.endedReason).toMatch(/^canary degraded: agreement with reader A 60\.00% \(canary\) vs 90\.00% \(production\)/);
    expect((await fx.registry.aliases(fx.model)).canary).toBe(1);
    expect((await fx.registry.aliases(fx.model)).production).toBe(1);
    expect(await svc.canaryWeight(fx.model)).toBeNull();
    const last = (await listAudit(fx.db)).at(-1)!;
    expect(last).toMatchObject({ event: 'rollout.rolled_back', actor: 'system', studyId: null });
    expect(last.payload).toMatchObject({ automatic: true, candidateVersion: v, baselineVersion: 1, fromWeight: 0.05 });
    expect(await verifyAuditLog(fx.db)).toMatchObject({ ok: true });
    await expect(svc.step(fx.model, alice)).rejects.toThrow(/has no active rollout/);

    const metrics = new Metrics({ processMetrics: false });
    collectRolloutGauges(svc, metrics, silentLogger, { clock: fx.clock, models: async () => [fx.model, 'other'] });
    const text = await metrics.render();
    expect(text).toContain(`secondread_canary_degraded{model="${fx.model}"} 1`);
    expect(text).toContain(`secondread_canary_weight{model="${fx.model}"} 0`);
    expect(text).toContain(`secondread_rollouts{model="${fx.model}",status="rolled_back"} 1`);
    expect(text).toContain(`secondread_rollouts{model="${fx.model}",status="promoted"} 0`);
    // A model without a rollout has its series too: 0, not absent.
    expect(text).toContain('secondread_canary_degraded{model="other"} 0');
    expect(text).toContain('secondread_canary_weight{model="other"} 0');
    fx.clock.advance(2 * 60 * 60 * 1000);
    expect(await metrics.render()).toContain(`secondread_canary_degraded{model="${fx.model}"} 0`);
  });

  it('rolls back on serving errors and on QA false clears too', async () => {
    const { v } = await started({ minQaReviews: 0 });
    fx.clock.advance(1000);
    await served(v, 100, { errors: 10 });
    const s = await svc.step(fx.model, { by: 'rollout-gate', automatic: true });
    expect(s.action).toBe('rolled_back');
    expect(s.judgement.reasons).toEqual([expect.stringMatching(/^error rate 10\.00% \(canary\) vs 0\.00% \(production\)/)]);

    // A second candidate: B overturns A on half of the canary's QA samples.
    const w = await fx.candidate();
    await svc.evaluate({ model: fx.model, version: w }, testProtocol(fx.lockedDataset), alice);
    await svc.start({ model: fx.model }, alice);
    fx.clock.advance(1000);
    await recordArm(fx.db, { model: fx.model, version: w, at: fx.clock.now().toISOString(), n: 4, agree: 4, qa: 4, qaWrong: 2 });
    const t = await svc.step(fx.model, { by: 'rollout-gate', automatic: true });
    expect(t.action).toBe('rolled_back');
    expect(t.judgement.reasons).toEqual([expect.stringMatching(/^QA false-clear rate 50\.00% \(2\/4, canary\) > 20\.00%/)]);
  });

  it('a manual rollback needs a reason and is audited with the user', async () => {
    await started();
    await expect(svc.rollback(fx.model, alice, '  ')).rejects.toThrow(/needs a reason/);
    const r = await svc.rollback(fx.model, alice, 'radiologists report odd answers');
    expect(r).toMatchObject({ status: 'rolled_back', endedReason: 'radiologists report odd answers' });
    expect((await listAudit(fx.db)).at(-1)).toMatchObject({
      event: 'rollout.rolled_back',
      actor: 'user:alice',
      payload: expect.objectContaining({ automatic: false }),
    });
  });

  it('serving follows the rollout’s canary share, sticky by study', async () => {
    const { v } = await started();
    const serving = new ServingService(
      { registry: fx.registry, db: fx.db, logger: silentLogger, canaryWeights: (name) => svc.canaryWeight(name) },
      { threads: 1, aliasPollMs: 0 },
    );
    try {
      const img = await fx.objects.getBytes((await fx.db.selectFrom('dataset_images').select('object_key').limit(1).executeTakeFirstOrThrow()).object_key);
      const studies = Array.from({ length: 200 }, (_, i) => `study-${i}`);
      const share = async () => {
        const rs = await Promise.all(studies.map((studyId) => serving.predict(fx.model, img, { studyId })));
        return rs.filter((x) => x.version === v).length / studies.length;
      };
      const first = await share();
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThan(0.15);
      fx.clock.advance(1000);
      await recordArm(fx.db, { model: fx.model, version: v, at: fx.clock.now().toISOString(), n: 40, agree: 36, qa: 2 });
      await recordArm(fx.db, { model: fx.model, version: 1, at: fx.clock.now().toISOString(), n: 40, agree: 36 });
      await served(v, 40);
      expect((await svc.step(fx.model, alice)).action).toBe('advanced');
      await serving.poll();
      const second = await share();
      expect(second).toBeGreaterThan(first);
      expect(second).toBeLessThan(0.4);
    } finally {
      await serving.close();
    }
  });
});
