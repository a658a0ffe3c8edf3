import { describe, expect, it } from 'vitest';

import { counterRate, histogramDelta, histogramOf, histogramQuantile, parsePrometheus, sumBy, sumOf } from './prometheus.js';

const TEXT = `# HELP secondread_predictions_total predictions by top class
# TYPE secondread_predictions_total counter
secondread_predictions_total{model="cxr",version="2",class_name="lung-normal"} 7
secondread_predictions_total{model="cxr",version="3",class_name="lung-normal"} 3
secondread_predictions_total{model="cxr",version="3",class_name="lung-covid"} 5
secondread_cost_saved_total{currency="USD"} 125.5
secondread_false_clear_rate{source="qa"} NaN
weird_label{path="a \\"quoted\\" \\\\ back\\nslash",x="1,2"} 1 1700000000000
# TYPE secondread_http_request_duration_seconds histogram
secondread_http_request_duration_seconds_bucket{le="0.1",route="/a"} 10
secondread_http_request_duration_seconds_bucket{le="0.5",route="/a"} 30
secondread_http_request_duration_seconds_bucket{le="+Inf",route="/a"} 40
secondread_http_request_duration_seconds_sum{route="/a"} 9
secondread_http_request_duration_seconds_count{route="/a"} 40
secondread_http_request_duration_seconds_bucket{le="0.1",route="/b"} 0
secondread_http_request_duration_seconds_bucket{le="0.5",route="/b"} 10
secondread_http_request_duration_seconds_bucket{le="+Inf",route="/b"} 10
secondread_http_request_duration_seconds_sum{route="/b"} 2
secondread_http_request_duration_seconds_count{route="/b"} 10
process_up 1
`;

describe('parsePrometheus', () => {
  const samples = parsePrometheus(TEXT);

  it('reads names, labels (with escapes and commas in values), values, NaN and timestamps', () => {
    expect(samples).toHaveLength(17);
    expect(samples[0]).toEqual({ name: 'secondread_predictions_total', labels: { model: 'cxr', version: '2', class_name: 'lung-normal' }, value: 7 });
    expect(samples.find((s) => s.name === 'weird_label')).toEqual({ name: 'weird_label', labels: { path: 'a "quoted" \\ back\nslash', x: '1,2' }, value: 1 });
    expect(samples.find((s) => s.name === 'secondread_false_clear_rate')!.value).toBeNaN();
    expect(samples.at(-1)).toEqual({ name: 'process_up', labels: {}, value: 1 });
  });

  it('sums over label sets and groups by a label', () => {
    expect(sumOf(samples, 'secondread_predictions_total')).toBe(15);
    expect(sumOf(samples, 'secondread_predictions_total', { version: '3' })).toBe(8);
    expect(sumBy(samples, 'secondread_predictions_total', 'class_name')).toEqual({ 'lung-normal': 10, 'lung-covid': 5 });
    expect(sumOf(samples, 'absent')).toBe(0);
  });

  it('refuses malformed lines', () => {
    expect(() => parsePrometheus('metric{a="1"')).toThrow(SyntaxError);
    expect(() => parsePrometheus('metric{a="1} 2')).toThrow(SyntaxError);
    expect(() => parsePrometheus('metric abc')).toThrow(SyntaxError);
    expect(() => parsePrometheus('<html>')).toThrow(SyntaxError);
  });

  it('histograms: summed over routes, quantiles interpolated like histogram_quantile', () => {
    const h = histogramOf(samples, 'secondread_http_request_duration_seconds');
    expect(h).toEqual({
      buckets: [
        { le: 0.1, count: 10 },
        { le: 0.5, count: 40 },
        { le: Infinity, count: 50 },
      ],
      count: 50,
      sum: 11,
    });
    expect(histogramQuantile(h, 0.1)).toBeCloseTo(0.05, 10); // rank 5 of the first 10 in [0, 0.1]
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(0.1 + 0.4 * (15 / 30), 10);
    expect(histogramQuantile(h, 0.99)).toBe(0.5); // in +Inf: the highest finite bound
    expect(histogramQuantile(histogramOf(samples, 'secondread_http_request_duration_seconds', { route: '/b' }), 0.5)).toBeCloseTo(0.3, 10);
    expect(histogramQuantile({ buckets: [], count: 0, sum: 0 }, 0.5)).toBeNull();
  });

  it("deltas between scrapes give the window's quantile; a reset starts over", () => {
    const a = histogramOf(samples, 'secondread_http_request_duration_seconds');
    const b = {
      buckets: [
        { le: 0.1, count: 10 },
        { le: 0.5, count: 40 },
        { le: Infinity, count: 60 },
      ],
      count: 60,
      sum: 31,
    };
    const d = histogramDelta(a, b);
    expect(d).toEqual({
      buckets: [
        { le: 0.1, count: 0 },
        { le: 0.5, count: 0 },
        { le: Infinity, count: 10 },
      ],
      count: 10,
      sum: 20,
    });
    expect(histogramQuantile(d, 0.5)).toBe(0.5);
    const reset = {
      buckets: [
        { le: 0.1, count: 1 },
        { le: Infinity, count: 1 },
      ],
      count: 1,
      sum: 0.01,
    };
    expect(histogramDelta(a, reset)).toBe(reset);
  });

  it('counter rates', () => {
    expect(counterRate(10, 40, 5)).toBe(6);
    expect(counterRate(40, 10, 5)).toBeNull();
    expect(counterRate(1, 2, 0)).toBeNull();
  });
});
