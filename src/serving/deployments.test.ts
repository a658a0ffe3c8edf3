// Deployments: canary split, shadow mode and hot swap of a moved alias, through the real service and
// registry (tiny ViT versions with different weights, so versions give different answers).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { TEST_CLASSES } from '../tracking/testing.js';
import { canaryBucket } from './service.js';
import { openServingFixture, type ServingFixture, testImage } from './testing.js';
import type { PredictResult } from './types.js';

let fx: ServingFixture;
beforeEach(async () => {
  fx = await openServingFixture();
  await fx.register('cxr', { seed: 1 });
  await fx.register('cxr', { seed: 2, classes: [TEST_CLASSES[1], TEST_CLASSES[2], TEST_CLASSES[0]] });
  await fx.promote('cxr', 1, 'production');
});
afterEach(async () => {
  await fx.close();
});

describe('canary', () => {
  it('sends about the canary weight of studies to the canary version, always the same way for one study', async () => {
    await fx.promote('cxr', 2, 'canary');
    const s = fx.service({ canaryWeight: 0.25, batching: { maxQueueDelayUs: 500, maxBatchSize: 32 } });
    const img = await testImage(1);
    const studies = Array.from({ length: 300 }, (_, i) => `study-${i}`);
    const first = await Promise.all(studies.map((studyId) => s.predict('cxr', img, { studyId })));
    const toCanary = first.filter((r) => r.route === 'canary');
    expect(toCanary.every((r) => r.version === 2)).toBe(true);
    expect(first.filter((r) => r.route === 'production').every((r) => r.version === 1)).toBe(true);
    // 300 Bernoulli(0.25) draws: sd ≈ 0.025, the bound is > 3 sd.
    expect(Math.abs(toCanary.length / studies.length - 0.25)).toBeLessThan(0.08);
    // The split is the stable hash's: the same study goes the same way on every request and every server.
    first.forEach((r, i) => expect(r.route).toBe(canaryBucket('cxr', studies[i]!) < 0.25 ? 'canary' : 'production'));
    const again = await Promise.all(studies.slice(0, 60).map((studyId) => s.predict('cxr', img, { studyId })));
    expect(again.map((r) => r.version)).toEqual(first.slice(0, 60).map((r) => r.version));
  });

  it('without a canary version every request goes to production; named aliases and versions ignore the split', async () => {
    const s = fx.service({ canaryWeight: 1 });
    const img = await testImage(1);
    expect(await s.predict('cxr', img, { studyId: 'a' })).toMatchObject({ route: 'production', version: 1 });
    await fx.promote('cxr', 2, 'canary');
    const t = fx.service({ canaryWeight: 1 });
    expect(await t.predict('cxr', img, { studyId: 'a' })).toMatchObject({ route: 'canary', version: 2 });
    expect(await t.predict('cxr', img, { alias: 'production' })).toMatchObject({ route: 'alias', version: 1 });
    expect(await t.predict('cxr', img, { version: 1 })).toMatchObject({ route: 'version', version: 1 });
  });
});

describe('shadow', () => {
  it('answers with production, scores with canary in the background and records every comparison', async () => {
    // Untrained tiny ViTs give (nearly) the same top class for every image, so agreement is set by the class
    // names: v2 (seed 2, rotated names) agrees with v1, v3 (v1's weights, rotated names) disagrees with it.
    await fx.register('cxr', { seed: 1, classes: [TEST_CLASSES[1], TEST_CLASSES[2], TEST_CLASSES[0]] });
    await fx.promote('cxr', 2, 'canary');
    const shadows: { m: unknown; agree: boolean }[] = [];
    const s = fx.service({ shadow: true }, { shadow: (m, agree) => shadows.push({ m, agree }) });
    const images = await Promise.all(Array.from({ length: 12 }, (_, i) => testImage(i + 1)));
    const ask = (i: number) => s.predict('cxr', images[i]!, { requestId: `q${String(i).padStart(2, '0')}`, studyId: `st${i}` });
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map(ask));
    await s.settled();
    await fx.promote('cxr', 3, 'canary');
    await s.poll(); // the shadow follows the canary alias like any served alias
    results.push(...(await Promise.all([6, 7, 8, 9, 10, 11].map(ask))));
    expect(results.every((r) => r.version === 1 && r.route === 'production')).toBe(true);
    await s.settled();

    const rows = await fx.f.t.db.selectFrom('shadow_comparisons').selectAll().orderBy('request_id').execute();
    expect(rows).toHaveLength(12);
    const shadowModels = [await fx.registry.loadForInference('cxr', { version: 2 }), await fx.registry.loadForInference('cxr', { version: 3 })];
    try {
      for (const [i, row] of rows.entries()) {
        const shadowVersion = i < 6 ? 2 : 3;
        const shadowTop = (await shadowModels[shadowVersion - 2]!.predict(images[i]!)).top;
        expect(row).toMatchObject({
          model_name: 'cxr',
          production_version: 1,
          shadow_version: shadowVersion,
          request_id: `q${String(i).padStart(2, '0')}`,
          study_id: `st${i}`,
        });
        expect(row).toMatchObject({
          production_class: results[i]!.top.class,
          shadow_class: shadowTop.class,
          agree: shadowTop.class === results[i]!.top.class ? 1 : 0,
        });
        expect(row.production_probability).toBeCloseTo(results[i]!.top.probability, 6);
        expect(row.shadow_probability).toBeCloseTo(shadowTop.probability, 6);
      }
    } finally {
      await Promise.all(shadowModels.map((m) => m.close()));
    }
    expect(rows.map((r) => r.agree)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(shadows.filter((x) => x.agree)).toHaveLength(6);
    expect(shadows.filter((x) => !x.agree).map((x) => x.m)).toEqual(Array(6).fill({ model: 'cxr', productionVersion: 1, shadowVersion: 3 }));
  });

  it('a broken shadow version never fails or holds up the production answer', async () => {
    await fx.promote('cxr', 2, 'canary');
    // Corrupt the canary's stored model: loading it fails its sha256 check.
    const mv = await fx.registry.resolve('cxr', { version: 2 });
    await fx.f.objects.put(mv.onnxKey, Buffer.from('corrupted'));
    const s = fx.service({ shadow: true });
    const results = await Promise.all([1, 2, 3].map(async (i) => s.predict('cxr', await testImage(i))));
    expect(results.map((r) => r.version)).toEqual([1, 1, 1]);
    await s.settled();
    expect(await fx.f.t.db.selectFrom('shadow_comparisons').selectAll().execute()).toEqual([]);
  });
});

describe('hot swap', () => {
  it('an alias moved under load (200 concurrent predictions) is swapped in with zero failed requests; later answers come from the new version', async () => {
    const swaps: unknown[] = [];
    let swapped!: () => void;
    const swappedNow = new Promise<void>((r) => (swapped = r));
    const s = fx.service(
      { aliasPollMs: 20, batching: { maxQueueDelayUs: 1000, maxBatchSize: 16, maxQueueSize: 512 } },
      { swapped: (m) => (swaps.push(m), swapped()) },
    );
    const images = await Promise.all([1, 2, 3, 4].map(testImage));
    await s.preload('cxr');

    // 50 clients keep predicting; the alias moves after request 40. They go on until at least 200 requests
    // were sent AND 50 more after the swap, so the swap happens under load and both sides of it are seen.
    const results: PredictResult[] = [];
    const failures: unknown[] = [];
    let issued = 0;
    let issuedAtSwap = Infinity;
    let moved: Promise<void> | null = null;
    void swappedNow.then(() => (issuedAtSwap = issued));
    const worker = async () => {
      while (issued < 200 || issued < issuedAtSwap + 50) {
        const i = issued++;
        if (i === 40) moved = fx.promote('cxr', 2, 'production');
        try {
          results.push(await s.predict('cxr', images[i % 4]!, { requestId: `r${i}` }));
        } catch (err) {
          failures.push(err);
        }
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    await moved;

    expect(failures).toEqual([]);
    expect(results).toHaveLength(issued);
    expect(issued).toBeGreaterThanOrEqual(200);
    expect(swaps).toEqual([{ model: 'cxr', alias: 'production', from: 1, to: 2 }]);
    // Both versions answered during the run: the swap happened while requests were flowing.
    const versions = new Set(results.map((r) => r.version));
    expect(versions).toEqual(new Set([1, 2]));
    const after = await Promise.all(images.map((img) => s.predict('cxr', img)));
    expect(after.every((r) => r.version === 2 && r.route === 'production')).toBe(true);
    // The old version was closed once its last request had its answer.
    await s.settled();
    expect(s.loadedVersions()).toEqual([{ model: 'cxr', version: 2, ready: true }]);
    expect(s.servedAliases('cxr')).toEqual({ production: 2 });
  });

  it('keeps serving the previous version when the new one cannot be loaded', async () => {
    const s = fx.service({ aliasPollMs: 0 });
    const img = await testImage(1);
    expect((await s.predict('cxr', img)).version).toBe(1);
    const mv = await fx.registry.resolve('cxr', { version: 2 });
    await fx.f.objects.put(mv.onnxKey, Buffer.from('corrupted'));
    await fx.promote('cxr', 2, 'production');
    await s.poll();
    expect((await s.predict('cxr', img)).version).toBe(1);
    expect(s.servedAliases('cxr')).toEqual({ production: 1 });
  });

  it('a rollback is picked up like any alias move', async () => {
    await fx.promote('cxr', 2, 'production');
    const s = fx.service({ aliasPollMs: 0 });
    const img = await testImage(1);
    expect((await s.predict('cxr', img)).version).toBe(2);
    await fx.registry.rollback('cxr', 'production', { by: 'test', reason: 'false clears' });
    await s.poll();
    expect((await s.predict('cxr', img)).version).toBe(1);
    await s.settled();
    expect(s.loadedVersions().map((l) => l.version)).toEqual([1]);
  });
});
