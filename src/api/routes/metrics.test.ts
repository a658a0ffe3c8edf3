import { afterEach, describe, expect, it } from 'vitest';

import { type ApiFixture, openApiFixture } from '../testing/fixture.js';

let f: ApiFixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

describe('GET /metrics', () => {
  it('needs a token by default; serves the Prometheus text format with the serving series', async () => {
    f = await openApiFixture();
    expect((await f.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    f.metrics.prediction({ model: 'cxr', version: 2, route: 'production' }, { class: 'lung-covid', probability: 0.8 }, 12);
    f.metrics.setEvaluationGauges({ dataset: 'ds-1/test', accuracy: 0.91, perClass: [{ class: 'lung-covid', recall: 0.88 }] });
    const res = await f.app.inject({ method: 'GET', url: '/metrics', headers: f.auth('reader') });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('secondread_predictions_total{model="cxr",version="2",class_name="lung-covid"} 1');
    expect(res.body).toContain('model_overall_accuracy{dataset="ds-1/test"} 0.91');
    expect(res.body).toContain('model_accuracy_per_class{dataset="ds-1/test",class_name="lung-covid"} 0.88');
    // the 401 above was observed too
    expect(res.body).toMatch(/secondread_http_request_duration_seconds_count\{method="GET",route="\/metrics",status_code="401"\} 1/);
  });

  it('is public when the app is built with publicMetrics', async () => {
    f = await openApiFixture({ publicMetrics: true });
    expect((await f.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });
});
