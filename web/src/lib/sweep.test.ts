import { describe, expect, it } from 'vitest';

import type { Run } from '../api/catalog.js';
import { sweepViews } from './sweep.js';

const run = (id: string, trial: number, params: Record<string, unknown>, val: number | null, sweep = 's'): Run => ({
  id,
  name: `${sweep}-${trial}`,
  status: 'finished',
  startedAt: '2026-12-06T00:00:00Z',
  params: { ...params, name: `${sweep}-${trial}`, experiment: `sweep-${sweep}` },
  tags: { sweep, trial: String(trial) },
  summary: val === null ? null : { val_accuracy: val, test_accuracy: val - 0.01 },
});

describe('sweepViews', () => {
  it('finds the options that vary, ranks trials by the metric, unfinished last', () => {
    const views = sweepViews([
      run('a', 1, { lr: 0.001, model: 'vit-tiny', stem: [1, 2] }, 0.7),
      run('b', 2, { lr: 0.002, model: 'vit-tiny', stem: [1, 2] }, 0.9),
      run('c', 3, { lr: 0.003, model: 'vit-tiny', stem: [2, 2] }, null),
      { id: 'x', name: 'plain', status: 'finished', startedAt: '', params: { lr: 1 } },
    ]);
    expect(views).toHaveLength(1);
    expect(views[0]!.keys).toEqual(['lr', 'stem']);
    expect(views[0]!.rows.map((r) => r.run.id)).toEqual(['b', 'a', 'c']);
    expect(views[0]!.rows[0]).toMatchObject({ trial: 2, values: { lr: '0.002', stem: '[1,2]' }, metric: 0.9, test: 0.89 });
  });

  it('keeps sweeps apart', () => {
    expect(sweepViews([run('a', 1, { lr: 1 }, 0.5, 'one'), run('b', 1, { lr: 2 }, 0.5, 'two')]).map((v) => v.name)).toEqual(['one', 'two']);
  });
});
