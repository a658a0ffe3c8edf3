// The workflow's model reader on the real serving runtime (tiny ViT versions in a real registry,
// ONNX Runtime): a study taken in over HTTP is read by the production version, with the canary rules
// applied and sticky by study id; the model is the configured one, else the only production model;
// without one the study is still taken in (no model read) and the reason is logged once. The detector reader
// (config workflow.detector) answers the detector's served boxes; a classifier named as detector fails its read.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { Metrics } from '../monitoring/metrics.js';
import type { ServingService } from '../serving/service.js';
import { openServingFixture, type ServingFixture, testImage } from '../serving/testing.js';
import { TEST_CLASSES } from '../tracking/testing.js';
import { WorkflowService } from '../workflow/service.js';
import { UserStore } from '../workflow/users.js';
import { buildApp } from './app.js';
import { NoWorkflowModelError, ServingDetectorReader, ServingModelReader, WorkflowDetectorTaskError } from './serving-model-reader.js';
import { FakeEvaluations } from './testing/fakes.js';
import { postStudy } from './testing/http.js';

let fx: ServingFixture;
beforeAll(async () => {
  fx = await openServingFixture();
  await fx.register('cxr', { seed: 1 });
  await fx.register('cxr', { seed: 2, classes: [TEST_CLASSES[1], TEST_CLASSES[2], TEST_CLASSES[0]] });
  await fx.promote('cxr', 1, 'production');
}, 60_000);
afterAll(async () => {
  await fx.close();
});

/** A logger that keeps its warnings. */
function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = {
    ...silentLogger,
    warn: (_o: unknown, msg: string) => void warnings.push(msg),
    info: () => undefined,
    debug: () => undefined,
  } as unknown as Logger;
  return { logger, warnings };
}

describe('ServingModelReader over HTTP', () => {
  let app: FastifyInstance;
  let serving: ServingService;
  let auth: (name: 'reader' | 'adjudicator') => Record<string, string>;

  beforeAll(async () => {
    serving = fx.service({ canaryWeight: 0 });
    const users = new UserStore(fx.f.t.db);
    const tokens = {
      reader: (await users.addUser({ name: 'rita', role: 'reader' })).token,
      adjudicator: (await users.addUser({ name: 'adam', role: 'adjudicator' })).token,
    };
    auth = (name) => ({ authorization: `Bearer ${tokens[name]}` });
    const workflow = new WorkflowService({
      db: fx.f.t.db,
      objects: fx.f.objects,
      model: new ServingModelReader({ serving, registry: fx.registry, logger: silentLogger }),
    });
    app = await buildApp({
      logger: silentLogger,
      db: fx.f.t.db,
      registry: fx.registry,
      serving,
      evaluations: new FakeEvaluations(),
      metrics: new Metrics({ processMetrics: false }),
      users,
      workflow,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('the production version reads the study; its read is the one /predict gives for the study', async () => {
    const png = await testImage(3);
    const res = await postStudy(app, auth('reader'), { modality: 'cxr' }, png);
    expect(res.statusCode).toBe(201);
    const id = res.json().id as string;
    const seen = (await app.inject({ method: 'GET', url: `/v1/studies/${id}`, headers: auth('adjudicator') })).json();
    const predicted = await serving.predict('cxr', png, { studyId: id });
    expect(seen).toMatchObject({
      model: { name: 'cxr', version: 1 },
      reads: { model: { model: 'cxr', version: 1, label: predicted.top.class, top: predicted.top, predictions: predicted.predictions } },
    });
    const audit = (await app.inject({ method: 'GET', url: `/v1/studies/${id}/audit`, headers: auth('adjudicator') })).json().entries as {
      event: string;
      actor: string;
      payload: Record<string, unknown>;
    }[];
    expect(audit.find((e) => e.event === 'read.model')).toMatchObject({ actor: 'model:cxr@1', payload: { model: 'cxr', version: 1, route: 'production' } });
  });
});

describe('ServingModelReader', () => {
  it('applies the canary rules, sticky by study id (no explicit alias, which would bypass them)', async () => {
    await fx.promote('cxr', 2, 'canary');
    try {
      const reader = new ServingModelReader({ serving: fx.service({ canaryWeight: 1 }), registry: fx.registry, logger: silentLogger });
      const img = await testImage(1);
      const first = await reader.read(img, { studyId: 'st_1' });
      expect(first).toMatchObject({ model: 'cxr', version: 2, route: 'canary' });
      expect(await reader.read(img, { studyId: 'st_1' })).toEqual(first);
    } finally {
      await fx.registry.setAlias('cxr', 'canary', 1, { by: 'test', reason: 'back' });
    }
  });

  it('the configured model wins; without one, the only production model; none or several: a failed read, logged once', async () => {
    const img = await testImage(2);
    const { logger, warnings } = recordingLogger();
    const serving = fx.service();
    expect(await new ServingModelReader({ serving, registry: fx.registry, logger }).productionModel()).toBe('cxr');

    await fx.register('oct', { seed: 4 });
    const reader = new ServingModelReader({ serving, registry: fx.registry, logger });
    // `oct` has no production alias yet: still exactly one production model.
    expect((await reader.read(img, { studyId: 'a' })).model).toBe('cxr');
    await fx.promote('oct', 1, 'production');
    await expect(reader.read(img, { studyId: 'b' })).rejects.toThrow(NoWorkflowModelError);
    await expect(reader.read(img, { studyId: 'c' })).rejects.toThrow(/several models have a production alias \(cxr, oct\)/);
    expect(warnings).toEqual([expect.stringMatching(/several models/)]);

    const configured = new ServingModelReader({ serving, registry: fx.registry, model: 'oct', logger });
    expect(await configured.read(img, { studyId: 'd' })).toMatchObject({ model: 'oct', version: 1, route: 'production' });
    expect(() => new ServingModelReader({ serving, registry: fx.registry, model: 'Bad..Name', logger })).toThrow(/invalid model name/);

    const empty = new ServingModelReader({ serving, registry: { listModels: async () => [] }, logger });
    await expect(empty.read(img, { studyId: 'e' })).rejects.toThrow(/no registered model has a production alias/);
    expect(warnings).toHaveLength(2);
  });

  it('a study taken in while no model can read it goes to B as no_model_read', async () => {
    const reader = new ServingModelReader({ serving: fx.service(), registry: { listModels: async () => [] }, logger: silentLogger });
    const users = new UserStore(fx.f.t.db);
    const { user } = await users.addUser({ name: 'rina', role: 'reader' });
    const wf = new WorkflowService({ db: fx.f.t.db, objects: fx.f.objects, model: reader, random: () => 0.99 });
    const s = await wf.intake(user, { modality: 'cxr', image: await testImage(5) });
    const after = await wf.commitRead(user, s.id, { label: 'lung-normal' });
    expect(after).toMatchObject({ status: 'awaiting_b', model: null, decision: { decision: 'second_read', reasons: ['no_model_read'] } });
  });
});

describe('ServingDetectorReader', () => {
  it('reads with the detector’s production version: the boxes predict gives, in the original image’s pixels; a classifier is refused', async () => {
    await fx.registerDetector('det', { seed: 9 });
    await fx.promote('det', 1, 'production');
    const serving = fx.service();
    const img = await testImage(6);
    const read = await new ServingDetectorReader({ serving, model: 'det' }).read(img, { studyId: 'st_d' });
    const [served] = await serving.predictImages('det', [img], { studyId: 'st_d' });
    expect(read).toEqual({ model: 'det', version: 1, route: 'production', detections: (served as { detections: unknown }).detections });
    expect(read.detections.length).toBeGreaterThan(0);
    for (const d of read.detections) expect(d.box[2]).toBeLessThanOrEqual(40);
    await expect(new ServingDetectorReader({ serving, model: 'cxr' }).read(img, { studyId: 'st_e' })).rejects.toThrow(WorkflowDetectorTaskError);
    expect(() => new ServingDetectorReader({ serving, model: 'Bad..Name' })).toThrow(/invalid model name/);

    // In the workflow: the boxes are the model read's, and a classifier as detector fails the box read only.
    const users = new UserStore(fx.f.t.db);
    const { user } = await users.addUser({ name: 'dora', role: 'adjudicator' });
    const reader = new ServingModelReader({ serving, registry: fx.registry, model: 'cxr', logger: silentLogger });
    const wf = new WorkflowService({ db: fx.f.t.db, objects: fx.f.objects, model: reader, detector: new ServingDetectorReader({ serving, model: 'det' }) });
    const s = await wf.intake(user, { modality: 'cxr', image: img });
    expect(s.reads.model!.detections).toEqual([...read.detections].sort((a, b) => b.score - a.score));
    const wrong = new WorkflowService({ db: fx.f.t.db, objects: fx.f.objects, model: reader, detector: new ServingDetectorReader({ serving, model: 'cxr' }) });
    const t = await wrong.intake(user, { modality: 'cxr', image: img });
    expect([t.status, t.boxRead?.status, t.reads.model?.label]).toEqual(['awaiting_a', 'failed', expect.any(String)]);
  });
});
