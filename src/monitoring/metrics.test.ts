import { describe, expect, it } from 'vitest';

import { Metrics } from './metrics.js';

/** The value of one sample line (`name{labels} value`) in the exposition text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[3]);
  }
  return undefined;
}

describe('Metrics', () => {
  it('exports every series the issue lists, in its own registry', async () => {
    const a = new Metrics({ processMetrics: false });
    const b = new Metrics({ processMetrics: false });
    a.queueDepth({ model: 'm', version: 1 }, 3);
    const text = await a.render();
    for (const name of [
      'secondread_http_request_duration_seconds',
      'secondread_inference_latency_seconds',
      'secondread_batch_size',
      'secondread_batch_queue_seconds',
      'secondread_batch_compute_seconds',
      'secondread_batch_queue_depth',
      'secondread_predictions_total',
      'secondread_prediction_confidence',
      'model_overall_accuracy',
      'model_accuracy_per_class',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(sample(text, 'secondread_batch_queue_depth', { model: 'm', version: '1' })).toBe(3);
    expect(sample(await b.render(), 'secondread_batch_queue_depth', { model: 'm', version: '1' })).toBeUndefined();
    expect(a.contentType).toMatch(/^text\/plain/);
  });

  it('records batches, predictions and drops as the serving observer', async () => {
    const m = new Metrics({ processMetrics: false });
    const ref = { model: 'cxr', version: 2 };
    m.batch(ref, { size: 3, queueMs: [1, 2, 40], computeMs: 12 });
    m.batch(ref, { size: 1, queueMs: [0.5], computeMs: 5 });
    m.prediction({ ...ref, route: 'production' }, { class: 'lung-covid', probability: 0.93 }, 20);
    m.prediction({ ...ref, route: 'production' }, { class: 'lung-covid', probability: 0.55 }, 30);
    m.prediction({ ...ref, route: 'canary' }, { class: 'lung-normal', probability: 0.7 }, 7);
    m.dropped(ref, 'client_gone');
    m.shadow({ model: 'cxr', productionVersion: 2, shadowVersion: 3 }, false);
    m.swapped({ model: 'cxr', alias: 'production', from: 1, to: 2 });
    const t = await m.render();
    const l = { model: 'cxr', version: '2' };
    expect(sample(t, 'secondread_batch_size_count', l)).toBe(2);
    expect(sample(t, 'secondread_batch_size_sum', l)).toBe(4);
    expect(sample(t, 'secondread_batch_size_bucket', { ...l, le: '2' })).toBe(1);
    expect(sample(t, 'secondread_batch_queue_seconds_count', l)).toBe(4);
    expect(sample(t, 'secondread_batch_queue_seconds_bucket', { ...l, le: '0.025' })).toBe(3);
    expect(sample(t, 'secondread_batch_compute_seconds_sum', l)).toBeCloseTo(0.017, 9);
    expect(sample(t, 'secondread_predictions_total', { ...l, class_name: 'lung-covid' })).toBe(2);
    expect(sample(t, 'secondread_predictions_total', { ...l, class_name: 'lung-normal' })).toBe(1);
    expect(sample(t, 'secondread_prediction_confidence_bucket', { ...l, le: '0.6' })).toBe(1);
    expect(sample(t, 'secondread_prediction_confidence_count', l)).toBe(3);
    expect(sample(t, 'secondread_inference_latency_seconds_count', { ...l, route: 'production' })).toBe(2);
    expect(sample(t, 'secondread_inference_latency_seconds_sum', { ...l, route: 'production' })).toBeCloseTo(0.05, 9);
    expect(sample(t, 'secondread_requests_dropped_total', { ...l, reason: 'client_gone' })).toBe(1);
    expect(sample(t, 'secondread_shadow_comparisons_total', { model: 'cxr', agree: 'false' })).toBe(1);
    expect(sample(t, 'secondread_model_swaps_total', { model: 'cxr', alias: 'production' })).toBe(1);
  });

  it('sets the seed accuracy gauges and drops classes a later evaluation no longer has', async () => {
    const m = new Metrics({ processMetrics: false });
    m.setEvaluationGauges({
      dataset: 'ds1/test',
      accuracy: 0.9,
      perClass: [
        { class: 'lung-normal', recall: 0.95 },
        { class: 'oct-cnv', recall: 0.8 },
      ],
    });
    m.setEvaluationGauges({ dataset: 'ds2/test', accuracy: 0.7, perClass: [{ class: 'oct-cnv', recall: 0.6 }] });
    let t = await m.render();
    expect(sample(t, 'model_overall_accuracy', { dataset: 'ds1/test' })).toBe(0.9);
    expect(sample(t, 'model_accuracy_per_class', { dataset: 'ds1/test', class_name: 'oct-cnv' })).toBe(0.8);
    m.setEvaluationGauges({ dataset: 'ds1/test', accuracy: 0.92, perClass: [{ class: 'lung-normal', recall: 0.97 }] });
    t = await m.render();
    expect(sample(t, 'model_overall_accuracy', { dataset: 'ds1/test' })).toBe(0.92);
    expect(sample(t, 'model_accuracy_per_class', { dataset: 'ds1/test', class_name: 'lung-normal' })).toBe(0.97);
    expect(sample(t, 'model_accuracy_per_class', { dataset: 'ds1/test', class_name: 'oct-cnv' })).toBeUndefined();
    expect(sample(t, 'model_accuracy_per_class', { dataset: 'ds2/test', class_name: 'oct-cnv' })).toBe(0.6);
  });

  it('observes HTTP durations by route template and status', async () => {
    const m = new Metrics({ processMetrics: false });
    m.observeHttp({ method: 'POST', route: '/v1/models/:name/predict', statusCode: 200, seconds: 0.004 });
    m.observeHttp({ method: 'POST', route: '/v1/models/:name/predict', statusCode: 415, seconds: 0.001 });
    const t = await m.render();
    expect(sample(t, 'secondread_http_request_duration_seconds_count', { method: 'POST', route: '/v1/models/:name/predict', status_code: '200' })).toBe(1);
    expect(
      sample(t, 'secondread_http_request_duration_seconds_bucket', { method: 'POST', route: '/v1/models/:name/predict', status_code: '415', le: '0.001' }),
    ).toBe(1);
  });

  it('includes process metrics unless turned off', async () => {
    expect(await new Metrics().render()).toContain('secondread_process_cpu_seconds_total');
  });
});
