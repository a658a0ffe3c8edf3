// The registry and tracker on PostgreSQL: the same queries as SQLite, and real concurrency — two
// connection pools registering and promoting at once get distinct versions and distinct alias events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelRegistry } from './registry.js';
import { finishedRunWithModel, openTrackingFixture, type TrackingFixture } from './testing.js';
import { Tracker } from './tracker.js';

let f: TrackingFixture;
beforeAll(async () => {
  f = await openTrackingFixture('postgres');
});
afterAll(async () => {
  await f.close();
});

describe('registry on PostgreSQL', () => {
  it('concurrent registrations from two pools get distinct, gap-free versions', async () => {
    const runId = await finishedRunWithModel(f.tracker);
    const other = f.t.openAnother();
    try {
      const a = new ModelRegistry(f.t.db, f.objects, f.tracker);
      const b = new ModelRegistry(other, f.objects, new Tracker(other, f.objects));
      const got = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).register({ runId, name: 'raced', by: `user-${i}` })));
      expect(got.map((v) => v.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

      // Concurrent alias changes: every one is recorded with its own sequence number.
      await Promise.all([1, 2, 3, 4].map((v, i) => (i % 2 ? a : b).setAlias('raced', i < 2 ? 'staging' : 'canary', v, { by: 'ci', reason: `v${v}` })));
      const events = await a.aliasHistory('raced');
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      // previous_version chains per alias are consistent with the replayed order.
      for (const alias of ['staging', 'canary'] as const) {
        const mine = events.filter((e) => e.alias === alias);
        expect(mine[0]!.previousVersion).toBeNull();
        expect(mine[1]!.previousVersion).toBe(mine[0]!.version);
      }
    } finally {
      await other.destroy();
    }
  });

  it('promotes, rolls back and upserts metrics the same way as on SQLite', async () => {
    const registry = new ModelRegistry(f.t.db, f.objects, f.tracker);
    const runId = await finishedRunWithModel(f.tracker);
    for (let i = 0; i < 2; i++) await registry.register({ runId, name: 'pg', by: 'a' });
    await registry.setAlias('pg', 'production', 1, { by: 'a', reason: 'r1' });
    await registry.setAlias('pg', 'production', 2, { by: 'a', reason: 'r2' });
    expect(await registry.rollback('pg', 'production', { by: 'b', reason: 'bad' })).toEqual({ from: 2, to: 1 });
    expect((await registry.resolve('pg', { alias: 'production' })).version).toBe(1);
    const m = await registry.loadForInference('pg', { alias: 'production' });
    expect(m.version).toBe(1);
    await m.close();

    await f.tracker.resumeRun(runId);
    await f.tracker.logMetrics(runId, [
      { key: 'train/loss', value: 1, step: 5 },
      { key: 'train/loss', value: Number.NaN, step: 6 },
    ]);
    await f.tracker.logMetrics(runId, [{ key: 'train/loss', value: 0.5, step: 5 }]);
    const points = await f.tracker.metrics(runId, 'train/loss');
    expect(points.map((p) => p.value)).toEqual([0.5, Number.NaN]);
  });
});
