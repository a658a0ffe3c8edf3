// End to end over real HTTP: the real app with the real serving runtime (ONNX Runtime, dynamic
// batcher), the embedded job queue and the evaluation service, on an ephemeral port, with a tiny
// registered ViT and a dataset version built by the real ETL. A PNG is predicted through /v1, the
// same image preprocessed by THE preprocessing goes through KServe v2 infer, and the two agree; an
// evaluation runs as a job and its accuracy reaches /metrics.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import { softmaxRows } from '../core/probabilities.js';
import { SECONDREAD_CLASSES } from '../data/classes.js';
import { grayPng } from '../data/images/testing.js';
import { createInProcessQueue, type JobQueue } from '../jobs/index.js';
import { createEvaluationService } from '../monitoring/evaluations/index.js';
import { Metrics } from '../monitoring/metrics.js';
import { collectEvaluationGauges, evaluationGauges } from '../monitoring/metrics-evaluations.js';
import { ServingService } from '../serving/service.js';
import { imageToInput, ModelRegistry } from '../tracking/index.js';
import { finishedRunWithModel } from '../tracking/testing.js';
import { openTrainingFixture, type TrainingFixture } from '../training/testing.js';
import { UserStore } from '../workflow/users.js';
import { buildApp } from './app.js';
import { multipartBody } from './testing/http.js';

let fx: TrainingFixture;
let serving: ServingService;
let jobs: JobQueue;
let app: FastifyInstance;
let base: string;
let engineer: Record<string, string>;
let reader: Record<string, string>;
let png: Buffer;

beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 3, imageSize: 34 });
  const registry = new ModelRegistry(fx.db, fx.objects, fx.tracker);
  const run = await finishedRunWithModel(fx.tracker, { classes: SECONDREAD_CLASSES, datasetVersion: fx.versionId, temperature: 1.5 });
  await registry.register({ runId: run, name: 'cxr-oct', by: 'test' });
  await registry.setAlias('cxr-oct', 'production', 1, { by: 'test', reason: 'e2e' });
  const users = new UserStore(fx.db);
  engineer = { authorization: `Bearer ${(await users.addUser({ name: 'emil', role: 'ml-engineer' })).token}` };
  reader = { authorization: `Bearer ${(await users.addUser({ name: 'rita', role: 'reader' })).token}` };
  const metrics = new Metrics({ processMetrics: false });
  collectEvaluationGauges(fx.db, metrics, silentLogger);
  serving = new ServingService({ registry, db: fx.db, logger: silentLogger, observer: metrics }, { threads: 1, aliasPollMs: 0, cacheDir: fx.cacheDir });
  jobs = createInProcessQueue({ db: fx.db, logger: silentLogger });
  const evaluations = createEvaluationService({
    db: fx.db,
    objects: fx.objects,
    registry,
    jobs,
    logger: silentLogger,
    cacheDir: fx.cacheDir,
    onResult: (e) => void (evaluationGauges(e) && metrics.setEvaluationGauges(evaluationGauges(e)!)),
  });
  evaluations.registerHandler(jobs);
  await jobs.start();
  app = await buildApp({ logger: silentLogger, db: fx.db, registry, serving, evaluations, metrics, users });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  png = await grayPng(64, 48, (x, y) => 60 + ((x * 5 + y * 3) % 120));
}, 60_000);

afterAll(async () => {
  await app?.close();
  await serving?.close();
  await jobs?.close();
  await fx?.close();
});

describe('the served API over HTTP', () => {
  it('predicts a PNG (multipart and raw), and KServe v2 infer on the preprocessed image gives the same probabilities', async () => {
    const mp = multipartBody([{ bytes: png, filename: 'chest.png', type: 'image/png' }]);
    const res = await fetch(`${base}/v1/models/cxr-oct/predict`, { method: 'POST', headers: { ...reader, ...mp.headers }, body: mp.payload });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      model: string;
      version: number;
      route: string;
      predictions: { class: string; probability: number }[];
      top: { class: string };
      latencyMs: number;
      requestId: string;
    };
    expect(body).toMatchObject({ model: 'cxr-oct', version: 1, route: 'production', requestId: res.headers.get('x-request-id') });
    expect(body.predictions.map((p) => p.class).sort()).toEqual([...SECONDREAD_CLASSES].sort());
    expect(body.latencyMs).toBeGreaterThan(0);

    const raw = await fetch(`${base}/v1/models/cxr-oct/predict?version=1`, { method: 'POST', headers: { ...reader, 'content-type': 'image/png' }, body: png });
    expect(raw.status).toBe(200);
    expect(((await raw.json()) as typeof body).top).toEqual(body.top);

    const meta = (await (await fetch(`${base}/v2/models/cxr-oct`, { headers: reader })).json()) as {
      inputs: { name: string; shape: number[] }[];
      outputs: { name: string }[];
      parameters: { classes: string[] };
    };
    const [, c, h, w] = meta.inputs[0]!.shape;
    const input = await imageToInput(png, {
      ...(await new ModelRegistry(fx.db, fx.objects, fx.tracker).resolve('cxr-oct', { version: 1 })).metadata.preprocessing,
    });
    expect(input.length).toBe(c! * h! * w!);
    const infer = await fetch(`${base}/v2/models/cxr-oct/infer`, {
      method: 'POST',
      headers: { ...reader, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'kserve-1',
        inputs: [{ name: meta.inputs[0]!.name, shape: [1, c, h, w], datatype: 'FP32', data: Array.from(input) }],
        outputs: [{ name: meta.outputs[0]!.name }],
      }),
    });
    expect(infer.status).toBe(200);
    const out = (await infer.json()) as {
      model_name: string;
      model_version: string;
      id: string;
      outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
    };
    expect(out).toMatchObject({
      model_name: 'cxr-oct',
      model_version: '1',
      id: 'kserve-1',
      outputs: [{ name: meta.outputs[0]!.name, shape: [1, SECONDREAD_CLASSES.length], datatype: 'FP32' }],
    });
    const probs = softmaxRows(out.outputs[0]!.data, SECONDREAD_CLASSES.length, 1.5);
    for (const p of body.predictions) expect(probs[meta.parameters.classes.indexOf(p.class)]).toBeCloseTo(p.probability, 5);

    // tritonclient's default: binary tensors after a JSON header, no Content-Type; binary logits back.
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: meta.inputs[0]!.name, shape: [1, c, h, w], datatype: 'FP32', parameters: { binary_data_size: input.byteLength } }],
        outputs: [{ name: meta.outputs[0]!.name, parameters: { binary_data: true } }],
      }),
    );
    const bin = await fetch(`${base}/v2/models/cxr-oct/infer`, {
      method: 'POST',
      headers: { ...reader, 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.from(input.buffer, input.byteOffset, input.byteLength)]),
    });
    expect(bin.status).toBe(200);
    const bytes = Buffer.from(await bin.arrayBuffer());
    const n = Number(bin.headers.get('inference-header-content-length'));
    expect(JSON.parse(bytes.subarray(0, n).toString())).toMatchObject({
      model_version: '1',
      outputs: [{ parameters: { binary_data_size: 4 * SECONDREAD_CLASSES.length } }],
    });
    out.outputs[0]!.data.forEach((v, i) => expect(bytes.readFloatLE(n + 4 * i)).toBeCloseTo(v, 5));
  });

  it('answers malformed uploads with JSON errors over the wire', async () => {
    const res = await fetch(`${base}/v1/models/cxr-oct/predict`, {
      method: 'POST',
      headers: { ...reader, 'content-type': 'image/png' },
      body: png.subarray(0, 100),
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ code: 'invalid_image', requestId: res.headers.get('x-request-id') });
    expect((await fetch(`${base}/v1/models/cxr-oct/predict`, { method: 'POST', body: png })).status).toBe(401);
  });

  it('runs an evaluation as a job; its accuracy reaches /metrics', async () => {
    const created = await fetch(`${base}/v1/evaluations`, {
      method: 'POST',
      headers: { ...engineer, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cxr-oct', alias: 'production', datasetVersion: fx.versionId.slice(0, 12), split: 'train' }),
    });
    expect(created.status, await created.clone().text()).toBe(202);
    const { id } = (await created.json()) as { id: string };
    let e: { status: string; accuracy: number | null; images: number | null; report: { perClass: unknown[] } | null } = {
      status: 'queued',
      accuracy: null,
      images: null,
      report: null,
    };
    for (let i = 0; i < 200 && (e.status === 'queued' || e.status === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      e = (await (await fetch(`${base}/v1/evaluations/${id}`, { headers: engineer })).json()) as typeof e;
    }
    expect(e.status).toBe('succeeded');
    expect(e.images).toBeGreaterThan(0);
    expect(e.report!.perClass).toHaveLength(SECONDREAD_CLASSES.length);
    const metrics = await (await fetch(`${base}/metrics`, { headers: reader })).text();
    const m = new RegExp(`model_overall_accuracy\\{dataset="${fx.versionId}/train"\\} (\\S+)`).exec(metrics);
    expect(Number(m?.[1])).toBeCloseTo(e.accuracy!, 9);
    expect(metrics).toMatch(/secondread_predictions_total\{model="cxr-oct",version="1",class_name="[a-z-]+"\} [1-9]/);
    expect(metrics).toMatch(/secondread_batch_size_count\{model="cxr-oct",version="1"\} [1-9]/);
  });
});
