// The saliency route over HTTP on its own app, with the real WorkflowService (blinding), the real
// registry holding a tiny ViT, and the real SaliencyService computing the map.
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { grayPng } from '../../data/images/testing.js';
import { SaliencyBusyError, SaliencyService } from '../../serving/saliency.js';
import { finishedRunWithModel } from '../../tracking/testing.js';
import { WorkflowService } from '../../workflow/service.js';
import { FakeModelReader, modelRead } from '../../workflow/testing.js';
import { type CatalogFixture, openCatalogFixture } from './catalog-testing.js';
import { saliencyRoutes } from './saliency.js';

let c: CatalogFixture;
let app: FastifyInstance;
let workflow: WorkflowService;
let saliency: SaliencyService;
let reader: FakeModelReader;
let image: Buffer;

beforeAll(async () => {
  c = await openCatalogFixture();
  const run = await finishedRunWithModel(c.tracking.tracker);
  await c.registry.register({ runId: run, name: 'cxr-oct', by: 'alice' });
  reader = new FakeModelReader(modelRead('lung-normal', 0.9, { model: 'cxr-oct', version: 1 }));
  workflow = new WorkflowService({ db: c.tracking.t.db, objects: c.tracking.objects, model: reader });
  saliency = new SaliencyService({ registry: c.registry, smoothGrad: { samples: 2 } });
  app = await c.serve(saliencyRoutes, { workflow, saliency });
  image = await grayPng(48, 32, (x, y) => (x * 5 + y * 3) % 256);
});
afterAll(async () => {
  await saliency.close();
  await c.close();
});

const intake = async () => (await workflow.intake(c.people['ml-engineer'], { modality: 'cxr', image })).id;
const get = (id: string, q = '', who: Parameters<CatalogFixture['auth']>[0] = 'adjudicator') =>
  app.inject({ method: 'GET', url: `/v1/studies/${id}/saliency${q}`, headers: c.auth(who) });

describe('GET /v1/studies/:id/saliency', () => {
  it('a PNG overlay at the image size, computed by SmoothGrad for the model read’s top class; headers say how; not cached', async () => {
    const id = await intake();
    const res = await get(id);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers).toMatchObject({
      'x-saliency-method': 'smoothgrad',
      'x-saliency-class': 'lung-normal',
      'x-saliency-model': 'cxr-oct@1',
      'cache-control': 'private, no-store',
    });
    const meta = await sharp(res.rawPayload).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 48, 32]);
    for (const role of ['ml-engineer', 'admin'] as const) expect((await get(id, '', role)).statusCode).toBe(200);
  });

  it('another class and the occlusion method on request; classes the model does not have and bad queries are 400', async () => {
    const id = await intake();
    const covid = await get(id, '?class=lung-covid');
    expect([covid.statusCode, covid.headers['x-saliency-class']]).toEqual([200, 'lung-covid']);
    expect(covid.rawPayload.equals((await get(id)).rawPayload)).toBe(false);
    const occ = await get(id, '?class=oct-cnv&method=occlusion');
    expect([occ.statusCode, occ.headers['x-saliency-method']]).toEqual([200, 'occlusion']);
    for (const q of ['?class=lung-opacity', '?class=..%2Fetc', '?class=', '?method=gradcam', '?size=9']) {
      const res = await get(id, q);
      expect([res.statusCode, res.json().code], q).toEqual([400, 'invalid_input']);
    }
  });

  it('blinding: a reader gets 403 `blinded` until read A is committed, then the map', async () => {
    const id = await intake();
    const before = await get(id, '', 'reader');
    expect([before.statusCode, before.json().code]).toEqual([403, 'blinded']);
    await workflow.commitRead(c.people.reader, id, { label: 'lung-covid' });
    const after = await get(id, '', 'reader');
    expect([after.statusCode, after.headers['x-saliency-class']]).toEqual([200, 'lung-normal']);
  });

  it('409 `no_model_read` when the model could not read the study', async () => {
    reader.next(new Error('serving down'));
    const id = await intake();
    const res = await get(id);
    expect([res.statusCode, res.json().code]).toEqual([409, 'no_model_read']);
  });

  it('404 for an unknown study, 400 for a malformed id, 401 without a valid token', async () => {
    expect([(await get('st_nope')).statusCode, (await get('st_nope')).json().code]).toEqual([404, 'not_found']);
    for (const bad of ['a%20b', '..%2F..%2Fetc', '-lead', 'a%00b']) expect((await get(bad)).statusCode, bad).toBe(400);
    expect((await get('x'.repeat(129))).statusCode).toBe(414); // Fastify's router: path parameters over 100 characters
    const id = await intake();
    expect((await app.inject({ method: 'GET', url: `/v1/studies/${id}/saliency` })).statusCode).toBe(401);
    expect((await get(id, '', { token: 'sr_nope' })).statusCode).toBe(401);
  });

  it('503 `saliency_busy` with Retry-After when the service is saturated', async () => {
    const busy = await c.serve(saliencyRoutes, { workflow, saliency: { explain: () => Promise.reject(new SaliencyBusyError(4)) } });
    const id = await intake();
    const res = await busy.inject({ method: 'GET', url: `/v1/studies/${id}/saliency`, headers: c.auth('adjudicator') });
    expect([res.statusCode, res.json().code, res.headers['retry-after']]).toEqual([503, 'saliency_busy', '2']);
  });
});
