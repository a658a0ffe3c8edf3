import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { fixedClock } from '../core/clock.js';
import { compareRuns, flattenParams, formatDuration, runDetails } from './run-report.js';
import { openTrackingFixture, type TrackingFixture } from './testing.js';

let f: TrackingFixture;
beforeEach(async () => {
  f = await openTrackingFixture('sqlite', fixedClock('2025-01-02T03:04:05Z'));
});
afterEach(async () => {
  await f.close();
});

describe('run reports', () => {
  it('flattens nested params to dotted keys', () => {
    expect(flattenParams({ lr: 0.1, model: { name: 'vit-tiny', depth: 2 }, seeds: [1, 2], empty: {}, note: 'x' })).toEqual({
      lr: '0.1',
      'model.name': 'vit-tiny',
      'model.depth': '2',
      seeds: '[1,2]',
      empty: '{}',
      note: 'x',
    });
  });

  it('shows a run with its final metrics (no system metrics) and artifacts', async () => {
    const run = await f.tracker.startRun({ experiment: 'e', params: { lr: 0.1 } });
    await f.tracker.logMetrics(run.id, [
      { key: 'train/loss', value: 1, step: 1 },
      { key: 'train/loss', value: 0.5, step: 2 },
    ]);
    await f.tracker.logSystemMetrics(run.id, 2);
    await f.tracker.putArtifact(run.id, 'metrics.json', '{}');
    const d = await runDetails(f.tracker, run.id);
    expect(d.run.experiment).toBe('e');
    expect(d.metrics).toEqual({ 'train/loss': 0.5 });
    expect(d.artifacts.map((a) => a.name)).toEqual(['metrics.json']);
  });

  it('compares runs side by side and marks what differs', async () => {
    const a = await f.tracker.startRun({ experiment: 'e', params: { lr: 0.1, model: { name: 'vit-tiny' } }, datasetVersion: 'ds1' });
    const b = await f.tracker.startRun({ experiment: 'e', params: { lr: 0.01, model: { name: 'vit-tiny' }, warmup: 2 }, datasetVersion: 'ds1' });
    await f.tracker.finishRun(a.id, 'finished', { test_accuracy: 0.8 });
    await f.tracker.finishRun(b.id, 'finished', { test_accuracy: 0.9 });
    await f.tracker.logMetrics(a.id, [{ key: 'val/accuracy', value: 0.7, step: 3 }]);
    const c = await compareRuns(f.tracker, [a.id, b.id]);
    expect(c.params).toEqual([
      { key: 'dataset_version', values: ['ds1', 'ds1'], differs: false },
      { key: 'lr', values: ['0.1', '0.01'], differs: true },
      { key: 'model.name', values: ['vit-tiny', 'vit-tiny'], differs: false },
      { key: 'warmup', values: [null, '2'], differs: true },
    ]);
    expect(c.metrics).toEqual([
      { key: 'summary.test_accuracy', values: [0.8, 0.9], differs: true },
      { key: 'val/accuracy', values: [0.7, null], differs: true },
    ]);
  });

  it('formats durations', () => {
    expect(formatDuration('2025-01-01T00:00:00Z', null)).toBeNull();
    expect(formatDuration('2025-01-01T00:00:00Z', '2025-01-01T00:00:12Z')).toBe('12s');
    expect(formatDuration('2025-01-01T00:00:00Z', '2025-01-01T00:03:05Z')).toBe('3m 05s');
    expect(formatDuration('2025-01-01T00:00:00Z', '2025-01-01T01:02:00Z')).toBe('1h 02m');
  });
});
