import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { InvalidImageError, NotFoundError, ValidationError } from '../core/errors.js';
import { ClientGoneError, ModelNotReadyError } from './errors.js';
import { openServingFixture, type ServingFixture, testImage } from './testing.js';
import type { ServingObserver } from './types.js';

let fx: ServingFixture;
beforeEach(async () => {
  fx = await openServingFixture();
});
afterEach(async () => {
  await fx.close();
});

/** Every observer call, by kind. */
function recordingObserver() {
  const calls: Record<string, unknown[][]> = { batch: [], queueDepth: [], dropped: [], prediction: [], shadow: [], swapped: [] };
  const observer: ServingObserver = Object.fromEntries(Object.keys(calls).map((k) => [k, (...args: unknown[]) => calls[k]!.push(args)]));
  return { calls, observer };
}

describe('ServingService.predict', () => {
  it('answers with the production version, exactly as the registry-loaded model predicts, and batches concurrent requests', async () => {
    await fx.register('cxr', { seed: 1 });
    await fx.promote('cxr', 1, 'production');
    const { calls, observer } = recordingObserver();
    const s = fx.service({ batching: { maxQueueDelayUs: 20_000, maxBatchSize: 8 } }, observer);
    const images = await Promise.all([1, 2, 3, 4, 5, 6].map(testImage));

    const results = await Promise.all(images.map((img, i) => s.predict('cxr', img, { requestId: `r${i}` })));
    const reference = await fx.registry.loadForInference('cxr', { version: 1 });
    try {
      for (const [i, r] of results.entries()) {
        const want = await reference.predict(images[i]!);
        expect(r).toMatchObject({ model: 'cxr', version: 1, route: 'production', requestId: `r${i}` });
        expect(r.predictions.map((p) => p.class)).toEqual(want.classes.map((p) => p.class));
        r.predictions.forEach((p, j) => expect(p.probability).toBeCloseTo(want.classes[j]!.probability, 6));
        expect(r.top).toEqual(r.predictions[0]);
        expect(r.latencyMs).toBeGreaterThan(0);
      }
    } finally {
      await reference.close();
    }
    // The six forward passes went in fewer, larger batches (one preprocessing each, in parallel).
    const sizes = calls.batch!.map((c) => (c[1] as { size: number }).size);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(6);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(calls.batch![0]![0]).toEqual({ model: 'cxr', version: 1 });
    expect(calls.prediction).toHaveLength(6);
    expect(calls.prediction![0]![0]).toEqual({ model: 'cxr', version: 1, route: 'production' });
  });

  it('routes by version or alias when asked, and predictBatch answers each image in order', async () => {
    await fx.register('cxr', { seed: 1 });
    await fx.register('cxr', { seed: 2 });
    await fx.promote('cxr', 1, 'production');
    await fx.promote('cxr', 2, 'staging');
    const s = fx.service();
    const img = await testImage(3);
    expect(await s.predict('cxr', img, { version: 2 })).toMatchObject({ version: 2, route: 'version' });
    expect(await s.predict('cxr', img, { alias: 'staging' })).toMatchObject({ version: 2, route: 'alias' });
    expect(await s.predict('cxr', img, { alias: 'production' })).toMatchObject({ version: 1, route: 'alias' });
    const imgs = await Promise.all([4, 5, 6].map(testImage));
    const batch = await s.predictBatch('cxr', imgs, { requestId: 'b1' });
    const single = await Promise.all(imgs.map((i) => s.predict('cxr', i)));
    expect(batch.map((r) => [r.version, r.top.class, r.requestId])).toEqual(single.map((r) => [1, r.top.class, 'b1']));
    expect(s.loadedVersions()).toEqual([
      { model: 'cxr', version: 1, ready: true },
      { model: 'cxr', version: 2, ready: true },
    ]);
  });

  it('fails with typed errors: unknown model/version/alias, bad names, undecodable image, gone client, closed service', async () => {
    await fx.register('cxr', { seed: 1 });
    const s = fx.service();
    const img = await testImage(1);
    await expect(s.predict('cxr', img)).rejects.toMatchObject({ code: 'not_found', httpStatus: 404 }); // no production yet
    await expect(s.predict('nope', img)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.predict('cxr', img, { version: 9 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.predict('../etc', img)).rejects.toBeInstanceOf(ValidationError);
    await expect(s.predict('cxr', img, { alias: 'latest' })).rejects.toBeInstanceOf(ValidationError);
    await expect(s.predict('cxr', img, { version: 1, alias: 'production' })).rejects.toBeInstanceOf(ValidationError);
    await expect(s.predict('cxr', img, { version: 1.5 })).rejects.toBeInstanceOf(ValidationError);
    await expect(s.predict('cxr', Buffer.from('not an image at all'), { version: 1 })).rejects.toBeInstanceOf(InvalidImageError);
    await expect(s.predict('cxr', img, { version: 1, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ClientGoneError);
    await expect(s.predictBatch('cxr', [], { version: 1 })).rejects.toBeInstanceOf(ValidationError);
    // A failed load (version 9) is not cached; the good one still serves.
    expect((await s.predict('cxr', img, { version: 1 })).version).toBe(1);
    await s.close();
    await expect(s.predict('cxr', img, { version: 1 })).rejects.toBeInstanceOf(ModelNotReadyError);
    expect(s.loadedVersions()).toEqual([]);
  });

  it('a request whose client leaves while it is queued is dropped before compute', async () => {
    await fx.register('cxr', { seed: 1 });
    const { calls, observer } = recordingObserver();
    // A long queue delay holds the request in the queue, where the abort finds it.
    const s = fx.service({ batching: { maxQueueDelayUs: 2_000_000, maxBatchSize: 8 } }, observer);
    await s.preload('cxr', { version: 1 });
    const before = calls.batch!.length;
    const gone = new AbortController();
    const p = s.predict('cxr', await testImage(1), { version: 1, signal: gone.signal });
    await new Promise((r) => setTimeout(r, 100));
    gone.abort();
    await expect(p).rejects.toBeInstanceOf(ClientGoneError);
    expect(calls.dropped).toEqual([[{ model: 'cxr', version: 1 }, 'client_gone']]);
    expect(calls.batch!.length).toBe(before);
  });

  it('a failing metrics observer never fails a request', async () => {
    await fx.register('cxr', { seed: 1 });
    const boom = () => {
      throw new Error('metrics bug');
    };
    const s = fx.service({}, { batch: boom, queueDepth: boom, prediction: boom, dropped: boom });
    const rs = await Promise.all([1, 2, 3].map(async (i) => s.predict('cxr', await testImage(i), { version: 1 })));
    expect(rs.map((r) => r.version)).toEqual([1, 1, 1]);
  });

  it('keeps versions asked for by number in a small LRU', async () => {
    for (const seed of [1, 2, 3]) await fx.register('cxr', { seed });
    const s = fx.service({ pinnedVersions: 2 });
    const img = await testImage(1);
    for (const v of [1, 2, 3]) await s.predict('cxr', img, { version: v });
    await s.settled();
    expect(s.loadedVersions().map((l) => l.version)).toEqual([2, 3]);
    await s.predict('cxr', img, { version: 2 }); // 2 becomes most recent: 3 is evicted next
    await s.predict('cxr', img, { version: 1 });
    await s.settled();
    expect(s.loadedVersions().map((l) => l.version)).toEqual([1, 2]);
  });
});

describe('ServingService.infer (KServe v2 tensors)', () => {
  it('returns the logits of each row, equal to what predict computes from the same image', async () => {
    await fx.register('cxr', { seed: 1, temperature: 1 });
    await fx.promote('cxr', 1, 'production');
    const s = fx.service();
    const model = await fx.registry.loadForInference('cxr', { version: 1 });
    try {
      const imgs = await Promise.all([1, 2].map(testImage));
      const rows = await Promise.all(imgs.map((i) => model.preprocess(i)));
      const data = new Float32Array(rows[0]!.length * 2);
      rows.forEach((r, i) => data.set(r, i * r.length));
      const out = await s.infer('cxr', { data, shape: [2, 1, 32, 32] });
      expect(out.outputs).toHaveLength(1);
      expect(out.outputs[0]).toMatchObject({ name: 'logits', datatype: 'FP32', shape: [2, 3] });
      const logits = out.outputs[0]!.data;
      const direct = await model.logits(data, 2);
      for (let i = 0; i < 6; i++) expect(logits[i]).toBeCloseTo(direct[i]!, 5);
      // softmax(logits) (T = 1) is what predict answered.
      const p = await s.predict('cxr', imgs[1]!);
      const e = Array.from(logits.subarray(3, 6), Math.exp);
      const sum = e.reduce((a, b) => a + b, 0);
      for (const c of p.predictions) expect(c.probability).toBeCloseTo(e[['lung-normal', 'lung-covid', 'oct-cnv'].indexOf(c.class)]! / sum, 6);
    } finally {
      await model.close();
    }
  });

  it('refuses a tensor that does not fit the model input (400 invalid_input)', async () => {
    await fx.register('cxr', { seed: 1 });
    await fx.promote('cxr', 1, 'production');
    const s = fx.service({ maxInferBatch: 4 });
    const bad = async (data: Float32Array, shape: number[]) => {
      const err = await s.infer('cxr', { data, shape }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).httpStatus).toBe(400);
      return (err as ValidationError).message;
    };
    expect(await bad(new Float32Array(3 * 32 * 32), [1, 3, 32, 32])).toMatch(/shape \[N, 1, 32, 32\]/);
    expect(await bad(new Float32Array(32 * 32), [32, 32])).toMatch(/shape/);
    expect(await bad(new Float32Array(10), [1, 1, 32, 32])).toMatch(/needs 1024 FP32 values, got 10/);
    expect(await bad(new Float32Array(5 * 1024), [5, 1, 32, 32])).toMatch(/at most 4 rows/);
    expect(await bad(new Float32Array(0), [0, 1, 32, 32])).toMatch(/shape/);
    expect(await bad(new Float32Array(1024).fill(Number.NaN), [1, 1, 32, 32])).toMatch(/not a finite number/);
  });
});

describe('ServingService.describe / isReady / preload', () => {
  it('describes the production version (or the named one) in KServe terms', async () => {
    await fx.register('cxr', { seed: 1 });
    await fx.register('cxr', { seed: 2 });
    const s = fx.service();
    expect((await s.describe('cxr')).version).toBe(2); // no production: the latest
    await fx.promote('cxr', 1, 'production');
    expect(await s.describe('cxr')).toEqual({
      name: 'cxr',
      version: 1,
      versions: [1, 2],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'images', datatype: 'FP32', shape: [-1, 1, 32, 32] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }],
      classes: ['lung-normal', 'lung-covid', 'oct-cnv'],
      task: 'classify',
    });
    expect((await s.describe('cxr', 2)).version).toBe(2);
    await expect(s.describe('cxr', 7)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.describe('missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('is ready once preloads are done; a model is ready once loaded and warmed, and asking starts the load', async () => {
    await fx.register('cxr', { seed: 1 });
    await fx.promote('cxr', 1, 'production');
    const s = fx.service();
    expect(await s.isReady()).toBe(true);
    expect(await s.isReady('cxr')).toBe(false); // not loaded yet: the probe starts loading it
    await s.settled();
    expect(await s.isReady('cxr')).toBe(true);
    expect(await s.isReady('cxr', 1)).toBe(true);
    expect(await s.isReady('missing')).toBe(false);

    const t = fx.service();
    await expect(t.preload('cxr', { alias: 'canary' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await t.isReady()).toBe(false); // a failed preload keeps the server out of rotation
    const u = fx.service();
    const loading = u.preload('cxr');
    expect(await u.isReady()).toBe(false); // answers at once while the preload runs
    await loading;
    expect(u.loadedVersions()).toEqual([{ model: 'cxr', version: 1, ready: true }]);
    expect(await u.isReady()).toBe(true);
    await u.close();
    expect(await u.isReady()).toBe(false);
  });
});
