// The run routes over HTTP on their own app, with a real Tracker on a SQLite test database (a clock
// that ticks one second per reading, so "newest first" is well defined).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Tracker } from '../../tracking/index.js';
import { accessMismatches, type CatalogFixture, openCatalogFixture } from './catalog-testing.js';
import { RUN_ROLES, runsRoutes } from './runs.js';

let f: CatalogFixture;
let app: FastifyInstance;
let a: string;
let b: string;

beforeAll(async () => {
  f = await openCatalogFixture();
  let t = Date.parse('2024-05-01T10:00:00.000Z');
  const tracker = new Tracker(f.tracking.t.db, f.tracking.objects, { now: () => new Date((t += 1000)) });

  a = (
    await tracker.startRun({
      experiment: 'exp-a',
      name: 'baseline',
      params: { lr: 0.001, model: { name: 'vit-tiny', depth: 4 } },
      datasetVersion: 'ds-0123456789abcdef0123',
    })
  ).id;
  // 3000 training steps (30 epochs of 100), a validation loss per epoch, one diverged point, system metrics.
  await tracker.logMetrics(
    a,
    Array.from({ length: 3000 }, (_, s) => ({ key: 'train/loss', value: 2 / (1 + s / 100), step: s, epoch: Math.floor(s / 100) })),
  );
  await tracker.logMetrics(
    a,
    Array.from({ length: 30 }, (_, e) => ({ key: 'loss', split: 'val', value: e === 3 ? Number.NaN : 1 / (1 + e), step: e * 100 + 99, epoch: e })),
  );
  await tracker.logSystemMetrics(a, 0);
  await tracker.putArtifact(a, 'metrics.json', '{}');
  await tracker.finishRun(a, 'finished', { test_accuracy: 0.81, worst: Number.NaN });
  b = (await tracker.startRun({ experiment: 'exp-b', name: 'higher-lr', params: { lr: 0.01, model: { name: 'vit-tiny', depth: 4 } } })).id;
  await tracker.logMetrics(b, [{ key: 'train/loss', value: 1.5, step: 0, epoch: 0 }]);

  app = await f.serve(runsRoutes, { tracker });
});
afterAll(async () => {
  await f.close();
});

const get = (url: string, role: Parameters<CatalogFixture['auth']>[0] = 'ml-engineer') => app.inject({ method: 'GET', url, headers: f.auth(role) });

describe('GET /v1/runs', () => {
  it('newest first, filtered by experiment, status and limit; figures that are not finite come back as null', async () => {
    const res = await get('/v1/runs');
    expect(res.statusCode).toBe(200);
    const runs = res.json().runs;
    expect(runs.map((r: { id: string }) => r.id)).toEqual([b, a]);
    expect(runs[1]).toMatchObject({
      name: 'baseline',
      experiment: 'exp-a',
      status: 'finished',
      datasetVersion: 'ds-0123456789abcdef0123',
      params: { lr: 0.001 },
      summary: { test_accuracy: 0.81, worst: null },
    });
    expect(runs[0]).toMatchObject({ status: 'running', endedAt: null, summary: null });
    expect((await get('/v1/runs?experiment=exp-a')).json().runs.map((r: { id: string }) => r.id)).toEqual([a]);
    expect((await get('/v1/runs?status=running')).json().runs.map((r: { id: string }) => r.id)).toEqual([b]);
    expect((await get('/v1/runs?limit=1')).json().runs).toHaveLength(1);
    expect((await get('/v1/runs?experiment=none')).json().runs).toEqual([]);
  });

  it('refuses a bad query (400)', async () => {
    for (const q of ['limit=0', 'limit=1001', 'status=paused', 'experiment=', 'sort=name']) {
      const res = await get(`/v1/runs?${q}`);
      expect([res.statusCode, res.json().code], q).toEqual([400, 'invalid_input']);
    }
  });
});

describe('GET /v1/runs/:id', () => {
  it('params, status, final metrics (no system metrics) and artifacts', async () => {
    const res = await get(`/v1/runs/${a}`);
    expect(res.statusCode).toBe(200);
    const d = res.json();
    expect(d.run).toMatchObject({
      id: a,
      experiment: 'exp-a',
      params: { lr: 0.001, model: { name: 'vit-tiny', depth: 4 } },
      status: 'finished',
      host: expect.any(String),
    });
    expect(d.metrics['train/loss']).toBeCloseTo(2 / (1 + 2999 / 100), 6);
    expect(d.metrics['loss[val]']).toBeCloseTo(1 / 30, 6);
    expect(Object.keys(d.metrics).some((k) => k.startsWith('system/'))).toBe(false);
    expect(d.artifacts).toEqual([{ name: 'metrics.json', size: 2, contentType: 'application/json', createdAt: expect.any(String) }]);
  });

  it('404 for an unknown run, 400 for what cannot be a run id', async () => {
    const missing = await get('/v1/runs/run_nope');
    expect([missing.statusCode, missing.json().code]).toEqual([404, 'not_found']);
    for (const bad of ['a%20b', '..%2F..%2Fetc', 'x'.repeat(65), 'run.1']) expect((await get(`/v1/runs/${bad}`)).statusCode, bad).toBe(400);
  });
});

describe('GET /v1/runs/:id/metrics', () => {
  it('series by name with step and epoch; long series thinned (last point kept, counts said); NaN as null', async () => {
    const res = await get(`/v1/runs/${a}/metrics`);
    expect(res.statusCode).toBe(200);
    const m = res.json();
    expect(m.runId).toBe(a);
    expect(Object.keys(m.series).sort()).toEqual(['loss[val]', 'system/cpu_percent', 'system/rss_mb', 'train/loss'].sort());
    expect(m.points['train/loss']).toEqual({ total: 3000, sent: 2000 });
    const train = m.series['train/loss'];
    expect(train).toHaveLength(2000);
    expect(train[0]).toMatchObject({ key: 'train/loss', step: 0, epoch: 0, value: 2 });
    expect(train.at(-1)).toMatchObject({ step: 2999, epoch: 29 });
    expect(train.every((p: { step: number }, i: number) => i === 0 || p.step > train[i - 1].step)).toBe(true);
    const val = m.series['loss[val]'];
    expect(val).toHaveLength(30);
    expect(val[3]).toMatchObject({ split: 'val', epoch: 3, value: null });
  });

  it('one key, and the thinning limit, on request', async () => {
    const m = (await get(`/v1/runs/${a}/metrics?name=train/loss&maxPoints=10`)).json();
    expect(Object.keys(m.series)).toEqual(['train/loss']);
    expect(m.series['train/loss'].map((p: { step: number }) => p.step)).toEqual(Array.from({ length: 10 }, (_, i) => Math.round((i * 2999) / 9)));
    for (const q of ['maxPoints=5', 'name=', 'every=2']) expect((await get(`/v1/runs/${a}/metrics?${q}`)).statusCode, q).toBe(400);
    expect((await get('/v1/runs/run_nope/metrics')).statusCode).toBe(404);
    expect((await get('/v1/runs/a%20b/metrics')).statusCode).toBe(400);
  });
});

describe('GET /v1/runs/compare', () => {
  it('runs side by side, rows marked where they differ', async () => {
    const res = await get(`/v1/runs/compare?ids=${a},${b}`);
    expect(res.statusCode).toBe(200);
    const c = res.json();
    expect(c.runs.map((r: { id: string }) => r.id)).toEqual([a, b]);
    const row = (rows: { key: string }[], key: string) => rows.find((r) => r.key === key);
    expect(row(c.params, 'lr')).toEqual({ key: 'lr', values: ['0.001', '0.01'], differs: true });
    expect(row(c.params, 'model.depth')).toEqual({ key: 'model.depth', values: ['4', '4'], differs: false });
    expect(row(c.params, 'dataset_version')).toEqual({ key: 'dataset_version', values: ['ds-0123456789abcdef0123', null], differs: true });
    expect(row(c.metrics, 'summary.test_accuracy')).toEqual({ key: 'summary.test_accuracy', values: [0.81, null], differs: true });
    expect(row(c.metrics, 'summary.worst')!).toMatchObject({ values: [null, null] });
  });

  it('2 to 10 distinct, well-formed ids (400), all of them known (404)', async () => {
    for (const q of [
      `ids=${a}`,
      `ids=${a},${a}`,
      'ids=',
      `ids=${a},,${b}`,
      `ids=${a},x%20y`,
      `ids=${Array(11)
        .fill(0)
        .map((_, i) => `r${i}`)
        .join(',')}`,
      '',
    ]) {
      const res = await get(`/v1/runs/compare?${q}`);
      expect([res.statusCode, res.json().code], q).toEqual([400, 'invalid_input']);
    }
    expect((await get(`/v1/runs/compare?ids=${a},run_nope`)).statusCode).toBe(404);
  });
});

describe('access', () => {
  it(`only ${RUN_ROLES.join(' and ')} (403 for the others), and never without a valid token (401)`, async () => {
    const urls = ['/v1/runs', `/v1/runs/${a}`, `/v1/runs/${a}/metrics`, `/v1/runs/compare?ids=${a},${b}`];
    expect(await accessMismatches(app, f, urls, RUN_ROLES)).toEqual([]);
  });
});
