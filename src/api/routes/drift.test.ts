// /v1/drift on the real workflow and drift monitor: studies taken in (the model reads recorded as drift
// observations by the workflow, image statistics measured from the uploaded PNG), reader A's reads give the realized
// agreement, POST runs a check against a stored profile, GET lists it, the gauges show it; roles and validation at
// the edge.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../../core/logger.js';
import { grayPng } from '../../data/images/testing.js';
import { saveProfile } from '../../monitoring/drift/profile.js';
import { DriftService } from '../../monitoring/drift/service.js';
import { finishedRunWithModel } from '../../tracking/testing.js';
import { modelRead } from '../../workflow/testing.js';
import { type ApiFixture, openApiFixture } from '../testing/fixture.js';
import type { DriftPort } from '../types.js';

let f: ApiFixture;
let svc: DriftService;
const port: DriftPort = { check: (r) => svc.check(r), checks: (o) => svc.checks(o), profile: (m) => svc.profile(m) };

beforeAll(async () => {
  f = await openApiFixture({ deps: { drift: port } });
  svc = new DriftService({ db: f.tracking.t.db, registry: f.registry, logger: silentLogger, metrics: f.metrics });
  const mv = await f.registry.register({ runId: await finishedRunWithModel(f.tracking.tracker), name: 'cxr-oct', by: 't' });
  // The reference: grey 24×24 images of brightness 80…119, read as lung-normal with 0.70…0.89.
  await saveProfile(f.registry, {
    format: 1,
    model: mv.name,
    version: mv.version,
    datasetVersion: 'ds_test',
    split: 'val',
    classes: [...mv.metadata.classes],
    temperature: 1,
    createdAt: '2026-12-01T00:00:00.000Z',
    embeddingDim: null,
    rows: Array.from({ length: 40 }, (_, i) => ({
      modality: 'cxr',
      topClass: 'lung-normal',
      topProbability: 0.7 + (i % 20) / 100,
      trueClass: 'lung-normal',
      image: { mean: 80 + i, std: 0, width: 24, height: 24 },
    })),
  });
});
afterAll(async () => f.close());

describe('drift routes', () => {
  it('checks the studies the workflow took in against the profile: brighter, surer images drift; agreement with A beside CBPE', async () => {
    const engineer = (await f.users.authenticate(f.tokens.engineer))!;
    const reader = (await f.users.authenticate(f.tokens.reader))!;
    for (let i = 0; i < 25; i++) {
      f.model.next(modelRead('lung-normal', 0.97 + (i % 3) / 100));
      const s = await f.workflow.intake(engineer, { modality: 'cxr', image: await grayPng(24, 24, () => 200 + i) });
      if (i < 10) await f.workflow.commitRead(reader, s.id, { label: i < 8 ? 'lung-normal' : 'lung-covid' });
    }
    const res = await f.app.inject({ method: 'POST', url: '/v1/drift/checks', headers: f.auth('engineer'), payload: { model: 'cxr-oct', window: '25' } });
    expect(res.statusCode).toBe(201);
    const c = res.json();
    expect(c).toMatchObject({ model: 'cxr-oct', version: 1, modality: 'all', detected: true, correction: 'holm', createdBy: 'emil', agreementReads: 10 });
    expect(c.window.observations).toBe(25);
    expect(c.realizedAgreement).toBeCloseTo(0.8, 10);
    expect(c.estimatedAccuracy).toBeCloseTo(0.9796, 3); // mean of 0.97, 0.98, 0.99 over 25 reads
    const byTest = Object.fromEntries((c.tests as { test: string; detected: boolean }[]).map((t) => [t.test, t.detected]));
    expect(byTest).toMatchObject({ confidence_ks: true, intensity_mean_ks: true, class_chi2: false, image_size_ks: false });
    expect(c.skipped.map((s: { test: string }) => s.test)).toEqual(['embedding_mmd']);

    const list = await f.app.inject({ method: 'GET', url: '/v1/drift/checks?model=cxr-oct', headers: f.auth('adjudicator') });
    expect(list.statusCode).toBe(200);
    expect(list.json().checks.map((x: { id: string }) => x.id)).toEqual([c.id]);
    const prof = await f.app.inject({ method: 'GET', url: '/v1/drift/models/cxr-oct/profile', headers: f.auth('admin') });
    expect(prof.json()).toMatchObject({ version: 1, summary: { images: 40, modalityMix: { cxr: 40 }, embeddings: 0 } });
    expect(await f.metrics.render()).toContain('secondread_drift_detected{model="cxr-oct"} 1');
  });

  it('roles, validation and errors at the edge', async () => {
    expect((await f.app.inject({ method: 'GET', url: '/v1/drift/checks', headers: f.auth('reader') })).statusCode).toBe(403);
    expect((await f.app.inject({ method: 'GET', url: '/v1/drift/checks' })).statusCode).toBe(401);
    const post = (payload: unknown, role: 'adjudicator' | 'engineer' = 'engineer') =>
      f.app.inject({ method: 'POST', url: '/v1/drift/checks', headers: f.auth(role), payload: payload as object });
    expect((await post({ model: 'cxr-oct' }, 'adjudicator')).statusCode).toBe(403);
    for (const bad of [{ model: '../x' }, { model: 'cxr-oct', window: '5 days' }, { model: 'cxr-oct', alpha: 0.9 }, { model: 'cxr-oct', extra: 1 }]) {
      const r = await post(bad);
      expect([r.statusCode, r.json().code]).toEqual([400, 'invalid_input']);
    }
    const small = await post({ model: 'cxr-oct', window: '7d', modality: 'oct' });
    expect([small.statusCode, small.json().code]).toEqual([409, 'drift_window_too_small']);
    expect((await post({ model: 'nope' })).statusCode).toBe(404);
    expect((await f.app.inject({ method: 'GET', url: '/v1/drift/models/nope/profile', headers: f.auth('admin') })).statusCode).toBe(404);
  });
});
