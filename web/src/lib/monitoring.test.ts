import { describe, expect, it } from 'vitest';

import { livePoint, pushBounded, totals } from './monitoring.js';
import { parsePrometheus } from './prometheus.js';

function scrape(t: number, http: number, preds: [string, number][], buckets: [string, number][]) {
  const lines = [
    `secondread_http_request_duration_seconds_count{method="GET",route="/healthz",status_code="200"} ${http}`,
    ...preds.map(([c, n]) => `secondread_predictions_total{model="m",version="1",class_name="${c}"} ${n}`),
    ...buckets.map(([le, n]) => `secondread_inference_latency_seconds_bucket{model="m",version="1",route="production",le="${le}"} ${n}`),
    `secondread_inference_latency_seconds_count{model="m",version="1",route="production"} ${buckets.at(-1)?.[1] ?? 0}`,
  ];
  return { t, samples: parsePrometheus(lines.join('\n')) };
}

describe('live monitoring figures', () => {
  const a = scrape(
    0,
    100,
    [
      ['lung-normal', 10],
      ['lung-covid', 5],
    ],
    [
      ['0.01', 10],
      ['0.1', 15],
      ['+Inf', 15],
    ],
  );
  const b = scrape(
    5000,
    150,
    [
      ['lung-normal', 20],
      ['lung-covid', 5],
    ],
    [
      ['0.01', 10],
      ['0.1', 25],
      ['+Inf', 25],
    ],
  );

  it('rates and interval quantiles between two scrapes', () => {
    const p = livePoint(a, b);
    expect(p.requestsPerSecond).toBe(10);
    expect(p.predictionsPerSecond).toBe(2);
    // The 10 inferences of the interval all fell in (0.01, 0.1]: the median interpolates inside it.
    expect(p.latencyP50).toBeCloseTo(0.055, 10);
    expect(p.latencyP95).toBeCloseTo(0.01 + 0.09 * 0.95, 10);
  });

  it('the first scrape has no rates; an idle interval has no latency', () => {
    expect(livePoint(null, a)).toEqual({ t: 0, requestsPerSecond: null, predictionsPerSecond: null, latencyP50: null, latencyP95: null });
    const idle = livePoint(b, { ...b, t: 10_000 });
    expect([idle.requestsPerSecond, idle.latencyP50]).toEqual([0, null]);
  });

  it('totals since start: the prediction mix and latency', () => {
    const t = totals(b.samples);
    expect(t.predictionMix).toEqual({ 'lung-normal': 20, 'lung-covid': 5 });
    expect(t.inferences).toBe(25);
    expect(t.latencyP50).toBeCloseTo(0.01 + 0.09 * (2.5 / 15), 10);
  });

  it('keeps a bounded history', () => {
    expect(pushBounded([1, 2, 3], 4, 3)).toEqual([2, 3, 4]);
    expect(pushBounded([], 1, 3)).toEqual([1]);
  });
});
