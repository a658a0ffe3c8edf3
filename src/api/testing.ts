// Test fixtures for the HTTP app: the real app with real users, metrics, database, registry and
// workflow (WorkflowService on the fixture's database, read by a scripted FakeModelReader), and small
// fakes of the serving runtime and the evaluation service (the routes' seams), so route tests run in
// milliseconds. No vitest import (like the other testing.ts modules).
import { crc32 } from 'node:zlib';

import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyPluginOptions } from 'fastify';

import { NotFoundError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { preprocessImage } from '../data/images/preprocess.js';
import { grayPng } from '../data/images/testing.js';
import type { CreateEvaluation, Evaluation } from '../monitoring/evaluations/types.js';
import { Metrics } from '../monitoring/metrics.js';
import { SaliencyService } from '../serving/saliency.js';
import type { ModelDescription, PredictOptions, PredictResult } from '../serving/types.js';
import type { DbDialect } from '../storage/db.js';
import { ModelRegistry } from '../tracking/index.js';
import { openTrackingFixture, type TrackingFixture } from '../tracking/testing.js';
import { collectWorkflowGauges } from '../workflow/gauges.js';
import { WorkflowService, type WorkflowServiceDeps } from '../workflow/service.js';
import { FakeModelReader } from '../workflow/testing.js';
import { UserStore } from '../workflow/users.js';
import { API_AJV, buildApp } from './app.js';
import { installAuth } from './auth.js';
import { sendError } from './errors.js';
import { sharedSchemas } from './schemas.js';
import type { ApiDeps, ApiLimits, EvaluationsPort, ServingPort, UsersPort } from './types.js';

export const FAKE_MODEL = 'cxr';
export const FAKE_CLASSES = ['lung-normal', 'lung-covid', 'oct-cnv'];

type Call = { method: string; name: string; options: unknown; images?: number };

/**
 * Serving for route tests: one model (`cxr`, versions 1-2, production = 2) whose "inference" really
 * decodes the image with THE preprocessing (so corrupt images fail as they would in production) and
 * derives probabilities from the mean pixel. Hooks let a test replace a method's behaviour.
 */
export class FakeServing implements ServingPort {
  readonly calls: Call[] = [];
  ready = true;
  /** Runs before each predict/infer; may wait, throw, or watch the signal. */
  before?: (o: { signal?: AbortSignal }) => Promise<void>;

  async predict(name: string, image: Uint8Array, o: PredictOptions = {}): Promise<PredictResult> {
    this.calls.push({ method: 'predict', name, options: o, images: 1 });
    return (await this.score(name, [image], o))[0]!;
  }

  async predictBatch(name: string, images: Uint8Array[], o: PredictOptions = {}): Promise<PredictResult[]> {
    this.calls.push({ method: 'predictBatch', name, options: o, images: images.length });
    return this.score(name, images, o);
  }

  async infer(name: string, input: { data: Float32Array; shape: number[] }, o: { version?: number; signal?: AbortSignal } = {}) {
    this.calls.push({ method: 'infer', name, options: { ...o, shape: input.shape } });
    const version = this.version(name, o.version);
    await this.before?.(o);
    const [n, ...rest] = input.shape;
    const per = rest.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n! * FAKE_CLASSES.length);
    for (let i = 0; i < n!; i++) {
      let sum = 0;
      for (let j = 0; j < per; j++) sum += input.data[i * per + j]!;
      FAKE_CLASSES.forEach((_, k) => (data[i * FAKE_CLASSES.length + k] = sum * (k + 1)));
    }
    return { version, outputName: 'logits', data, shape: [n!, FAKE_CLASSES.length] };
  }

  async describe(name: string, version?: number): Promise<ModelDescription> {
    const v = this.version(name, version);
    return {
      name,
      version: v,
      versions: [1, 2],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 1, 8, 8] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, FAKE_CLASSES.length] }],
      classes: FAKE_CLASSES,
    };
  }

  /** Like the real service: an unknown model or version is simply not ready. */
  async isReady(name?: string, version?: number): Promise<boolean> {
    if (name !== undefined && (name !== FAKE_MODEL || (version !== undefined && version !== 1 && version !== 2))) return false;
    return this.ready;
  }

  private version(name: string, version?: number): number {
    if (name !== FAKE_MODEL) throw new NotFoundError('model', name);
    if (version !== undefined && version !== 1 && version !== 2) throw new NotFoundError('model version', `${name} v${version}`);
    return version ?? 2;
  }

  private async score(name: string, images: Uint8Array[], o: PredictOptions): Promise<PredictResult[]> {
    const version = this.version(name, o.version);
    await this.before?.(o);
    const out: PredictResult[] = [];
    for (const img of images) {
      const px = await preprocessImage(img, 8);
      const mean = px.reduce((a, b) => a + b, 0) / px.length / 255;
      const raw = [1 - mean, mean, 0.5].map((x) => x + 0.1);
      const total = raw.reduce((a, b) => a + b, 0);
      const predictions = FAKE_CLASSES.map((c, i) => ({ class: c, probability: raw[i]! / total })).sort((a, b) => b.probability - a.probability);
      out.push({
        model: name,
        version,
        route: o.version !== undefined ? 'version' : o.alias ? 'alias' : 'production',
        predictions,
        top: predictions[0]!,
        latencyMs: 1.5,
        requestId: o.requestId ?? '',
      });
    }
    return out;
  }
}

/** Evaluations kept in memory; `create` validates the model like the real service (unknown → 404). */
export class FakeEvaluations implements EvaluationsPort {
  readonly created: CreateEvaluation[] = [];
  private readonly byId = new Map<string, Evaluation>();

  async create(input: CreateEvaluation): Promise<Evaluation> {
    if (input.model !== FAKE_MODEL) throw new NotFoundError('model', input.model);
    this.created.push(input);
    const e: Evaluation = {
      id: `ev_${this.byId.size + 1}`,
      jobId: `job_${this.byId.size + 1}`,
      model: input.model,
      version: input.version ?? 2,
      datasetVersion: input.datasetVersion,
      split: input.split as Evaluation['split'],
      status: 'queued',
      progress: 0,
      images: null,
      accuracy: null,
      macroF1: null,
      report: null,
      error: null,
      createdBy: input.createdBy,
      createdAt: '2024-05-01T10:00:00.000Z',
      finishedAt: null,
    };
    this.byId.set(e.id, e);
    return e;
  }

  async get(id: string): Promise<Evaluation | null> {
    return this.byId.get(id) ?? null;
  }

  /** Moves an evaluation along, as its job would. */
  update(id: string, patch: Partial<Evaluation>): void {
    this.byId.set(id, { ...this.byId.get(id)!, ...patch });
  }
}

export interface ApiFixture {
  app: FastifyInstance;
  serving: FakeServing;
  evaluations: FakeEvaluations;
  metrics: Metrics;
  users: UserStore;
  registry: ModelRegistry;
  tracking: TrackingFixture;
  /** The real workflow on the fixture's database and object store. */
  workflow: WorkflowService;
  /** Its model reader: script the next reads with `model.next(modelRead(…))`. */
  model: FakeModelReader;
  /** QA draws the workflow takes, first in first out; when empty, 0.99 (never a QA sample). */
  draws: number[];
  /** Tokens of one user per role. */
  tokens: { reader: string; adjudicator: string; engineer: string; admin: string };
  /** `Authorization` header for a role. */
  auth(role?: keyof ApiFixture['tokens']): { authorization: string };
  close(): Promise<void>;
}

export interface ApiFixtureOptions {
  limits?: Partial<ApiLimits>;
  publicMetrics?: boolean;
  deps?: Partial<ApiDeps>;
  /** Default sqlite; postgres for the integration tier. */
  dialect?: DbDialect;
  /** Overrides of the workflow's dependencies (clock, economics, …). */
  workflow?: Partial<WorkflowServiceDeps>;
}

export async function openApiFixture(o: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const tracking = await openTrackingFixture(o.dialect ?? 'sqlite');
  const users = new UserStore(tracking.t.db);
  const tokens = {
    reader: (await users.addUser({ name: 'rita', role: 'reader' })).token,
    adjudicator: (await users.addUser({ name: 'adam', role: 'adjudicator' })).token,
    engineer: (await users.addUser({ name: 'emil', role: 'ml-engineer' })).token,
    admin: (await users.addUser({ name: 'ada', role: 'admin' })).token,
  };
  const serving = new FakeServing();
  const evaluations = new FakeEvaluations();
  const metrics = new Metrics({ processMetrics: false });
  const registry = new ModelRegistry(tracking.t.db, tracking.objects, tracking.tracker);
  const model = new FakeModelReader();
  const draws: number[] = [];
  const workflow = new WorkflowService({ db: tracking.t.db, objects: tracking.objects, model, random: () => draws.shift() ?? 0.99, ...o.workflow });
  collectWorkflowGauges(workflow, metrics, silentLogger);
  const saliency = new SaliencyService({ registry });
  const app = await buildApp({
    logger: silentLogger,
    db: tracking.t.db,
    registry,
    serving,
    evaluations,
    metrics,
    users,
    workflow,
    limits: o.limits,
    publicMetrics: o.publicMetrics,
    // Every optional feature as `secondread serve` has it (the web UI aside: tests of it build their own app).
    accounts: users,
    modelCatalog: registry,
    objects: tracking.objects,
    tracker: tracking.tracker,
    saliency,
    ...o.deps,
  });
  await app.ready();
  return {
    app,
    serving,
    evaluations,
    metrics,
    users,
    registry,
    tracking,
    workflow,
    model,
    draws,
    tokens,
    auth: (role = 'reader') => ({ authorization: `Bearer ${tokens[role]}` }),
    close: async () => {
      await app.close();
      await saliency.close();
      await tracking.close();
    },
  };
}

/** POST /v1/studies with `headers` (a token) and a small PNG (or `bytes`): the response. */
export async function postStudy(
  app: FastifyInstance,
  headers: Record<string, string>,
  fields: Record<string, string> = { modality: 'cxr' },
  bytes?: Uint8Array,
) {
  const body = multipartBody([{ bytes: bytes ?? (await grayPng(16, 16, (x, y) => (x * 7 + y * 3) % 256)) }], fields);
  return app.inject({ method: 'POST', url: '/v1/studies', headers: { ...headers, ...body.headers }, payload: body.payload });
}

/** POST /v1/studies/:id/reads with `headers` (a token): the response. */
export function postRead(app: FastifyInstance, headers: Record<string, string>, id: string, label: string) {
  return app.inject({ method: 'POST', url: `/v1/studies/${encodeURIComponent(id)}/reads`, headers, payload: { label } });
}

/**
 * `races` studies sent to reader B (A disagrees with the model), each then adjudicated by two
 * adjudicators at once over HTTP — the second one through `otherApp` when given (another API process
 * on its own connection pool). Per race: both statuses (sorted) and the loser's code; per study, how
 * many B reads and `read.B` audit entries the database holds.
 */
export async function adjudicationRaces(
  f: ApiFixture,
  races: number,
  otherApp: FastifyInstance = f.app,
): Promise<{ statuses: number[][]; loserCodes: string[]; readsB: number[]; auditB: number[] }> {
  const second = { authorization: `Bearer ${(await f.users.addUser({ name: `adjudicator-${Date.now().toString(36)}`, role: 'adjudicator' })).token}` };
  const ids: string[] = [];
  for (let i = 0; i < races; i++) {
    const id = (await postStudy(f.app, f.auth('admin'))).json<{ id: string }>().id;
    const a = await postRead(f.app, f.auth('reader'), id, 'lung-covid');
    if (a.json<{ status: string }>().status !== 'awaiting_b') throw new Error(`study ${id} did not go to B: ${a.body}`);
    ids.push(id);
  }
  const out = { statuses: [] as number[][], loserCodes: [] as string[], readsB: [] as number[], auditB: [] as number[] };
  for (const id of ids) {
    const rs = await Promise.all([postRead(f.app, f.auth('adjudicator'), id, 'lung-covid'), postRead(otherApp, second, id, 'lung-normal')]);
    out.statuses.push(rs.map((r) => r.statusCode).sort());
    out.loserCodes.push(...rs.filter((r) => r.statusCode !== 200).map((r) => r.json<{ code: string }>().code));
    const db = f.tracking.t.db;
    out.readsB.push((await db.selectFrom('reads').select('label').where('study_id', '=', id).where('reader', '=', 'B').execute()).length);
    out.auditB.push((await db.selectFrom('audit_log').select('seq').where('study_id', '=', id).where('event', '=', 'read.B').execute()).length);
  }
  return out;
}

/** A multipart/form-data body with files (all in parts named `file` unless named). */
export function multipartBody(
  files: { bytes: Uint8Array; filename?: string; field?: string; type?: string }[],
  fields: Record<string, string> = {},
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----secondread${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  for (const f of files) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${f.field ?? 'file'}"; filename="${f.filename ?? 'image.png'}"\r\nContent-Type: ${f.type ?? 'application/octet-stream'}\r\n\r\n`,
      ),
    );
    parts.push(Buffer.from(f.bytes));
    parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** A PNG whose IHDR claims `width`×`height` (CRC fixed up) with almost no data: a decompression-bomb header. */
export function pngHeaderClaiming(width: number, height: number): Buffer {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  return Buffer.concat([
    sig,
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * An app serving only `plugin`, set up as buildApp sets up its routes: the same ajv, the shared schemas,
 * the one error mapping and bearer auth against `users`. For plugin tests that need their own stores.
 */
export async function pluginApp<O extends FastifyPluginOptions>(users: UsersPort, plugin: FastifyPluginAsync<O>, opts: O): Promise<FastifyInstance> {
  const app = Fastify({ ajv: API_AJV });
  for (const schema of sharedSchemas) app.addSchema(schema);
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  installAuth(app, users);
  await app.register(plugin, opts);
  await app.ready();
  return app;
}
