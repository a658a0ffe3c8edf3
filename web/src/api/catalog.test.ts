import { describe, expect, it } from 'vitest';

import { countTable, curveGroups, metricSeries, sampleList } from './catalog.js';

describe('catalog answers', () => {
  it('count table from nested counts: stable split order, totals', () => {
    const t = countTable({ test: { 'lung-normal': 2 }, train: { 'lung-normal': 10, 'lung-covid': 4 }, val: { 'lung-covid': 1 } });
    expect(t.splits).toEqual(['train', 'val', 'test']);
    expect(t.classes).toEqual(['lung-covid', 'lung-normal']);
    expect([t.cell('train', 'lung-covid'), t.cell('val', 'lung-normal'), t.splitTotal('train'), t.classTotal('lung-normal'), t.total]).toEqual([
      4, 0, 14, 12, 17,
    ]);
  });

  it('count table from rows, and from nothing', () => {
    const t = countTable([
      { split: 'val', class: 'oct-dme', count: 3 },
      { split: 'val', class: 'oct-dme', count: 2 },
      { split: 'extra', class: 'oct-cnv', count: 1 },
    ]);
    expect([t.splits, t.cell('val', 'oct-dme'), t.total]).toEqual([['val', 'extra'], 5, 6]);
    expect(countTable(undefined).total).toBe(0);
  });

  it('samples as objects or bare hashes', () => {
    expect(sampleList({ samples: ['a', { sha256: 'b', class: 'x' }, { nope: 1 }, 3] })).toEqual([{ sha256: 'a' }, { sha256: 'b', class: 'x' }]);
    expect(sampleList(null)).toEqual([]);
  });

  it('metric series grouped or flat; curves grouped by kind without system metrics', () => {
    const grouped = metricSeries({ series: { 'train/loss': [{ value: 1, step: 1 }], 'val/accuracy': [{ value: 0.5, step: 1 }] } });
    expect(Object.keys(grouped)).toEqual(['train/loss', 'val/accuracy']);
    const flat = metricSeries({
      points: [
        { key: 'val/loss', value: 2, step: 1 },
        { key: 'val/loss', value: 1, step: 2 },
        { key: 'system/cpu', value: 9, step: 1 },
        { key: 'lr', value: 0.1, step: 1 },
      ],
    });
    expect(flat['val/loss']).toHaveLength(2);
    expect(curveGroups({ ...grouped, ...flat })).toEqual([
      { title: 'Loss', keys: ['train/loss', 'val/loss'] },
      { title: 'Accuracy', keys: ['val/accuracy'] },
      { title: 'lr', keys: ['lr'] },
    ]);
  });
});
