// Serving on PostgreSQL, with the alias moved by another process (a second connection pool, as the
// `models promote` CLI would): the poll picks the move up, the shadow rows land in PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelRegistry } from '../tracking/registry.js';
import { TEST_CLASSES } from '../tracking/testing.js';
import { Tracker } from '../tracking/tracker.js';
import { openServingFixture, type ServingFixture, testImage } from './testing.js';

let fx: ServingFixture;
beforeAll(async () => {
  fx = await openServingFixture('postgres');
  await fx.register('cxr', { seed: 1 });
  await fx.register('cxr', { seed: 1, classes: [TEST_CLASSES[1], TEST_CLASSES[2], TEST_CLASSES[0]] });
  await fx.promote('cxr', 1, 'production');
});
afterAll(async () => {
  await fx.close();
});

describe('serving on PostgreSQL', () => {
  it('follows alias moves made by another process and records shadow comparisons', async () => {
    const swapped: unknown[] = [];
    const s = fx.service({ shadow: true, aliasPollMs: 30 }, { swapped: (m) => swapped.push(m) });
    const img = await testImage(1);
    expect(await s.predict('cxr', img)).toMatchObject({ version: 1, route: 'production' });

    const other = fx.f.t.openAnother();
    try {
      const cli = new ModelRegistry(other, fx.f.objects, new Tracker(other, fx.f.objects));
      await cli.setAlias('cxr', 'canary', 2, { by: 'ops', reason: 'try v2' });
      const deadline = Date.now() + 10_000;
      while (swapped.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(swapped).toEqual([{ model: 'cxr', alias: 'canary', from: null, to: 2 }]);

      const r = await s.predict('cxr', img, { requestId: 'pg-1', studyId: 'study-9' });
      expect(r).toMatchObject({ version: 1, route: 'production' });
      await s.settled();
      const rows = await fx.f.t.db.selectFrom('shadow_comparisons').selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        model_name: 'cxr',
        production_version: 1,
        shadow_version: 2,
        request_id: 'pg-1',
        study_id: 'study-9',
        production_class: r.top.class,
        agree: 0,
      });
      expect(rows[0]!.production_probability).toBeCloseTo(r.top.probability, 9);

      await cli.setAlias('cxr', 'production', 2, { by: 'ops', reason: 'v2 is better' });
      while (swapped.length < 2 && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 20));
      expect(await s.predict('cxr', img)).toMatchObject({ version: 2, route: 'production' });
    } finally {
      await other.destroy();
    }
  });
});
