// The soak's traffic: what each of the c clients does in a loop (intake PNG/JPEG/DICOM, reads A and B by simulated
// readers, predict, KServe v2 infer, worklists, study lists), the side tasks that run once or sequentially (a /metrics
// scraper, one saliency map at a time, an evaluation job, the alias promotion and rollback), and the record of every
// request: when it was sent, its route template, its status (0: no answer) and its latency to the response headers.
import { sha256Hex } from '../../src/core/ids.js';
import { Rng } from '../../src/core/rng.js';
import { SECONDREAD_CLASSES, type SecondreadClass } from '../../src/data/classes.js';
import { renderCxr } from '../../src/data/synth/cxr.js';
import { encodeDicomPhantom } from '../../src/data/synth/dicom-phantom.js';
import { encodeGray } from '../../src/data/synth/encode.js';
import { renderOct } from '../../src/data/synth/oct.js';
import { ApiCallError, ApiClient } from '../../src/simulate/client.js';
import type { StudyView } from '../../src/workflow/blinding.js';
import { SimulatedReader } from '../../src/workflow/simulated-reader.js';
import { tensorBodies } from './server.js';

/** One request as the client saw it. */
export interface RequestRecord {
  /** Seconds since the load began, when the request was sent. */
  t: number;
  route: string;
  /** HTTP status; 0 when no answer came (refused, reset, timed out). */
  status: number;
  ms: number;
}

export type ImageKind = 'png' | 'jpeg' | 'dicom';

/** A study the server acknowledged with 201: what was sent, so the checks afterwards can find it. */
export interface AckedStudy {
  id: string;
  kind: ImageKind;
  /** sha256 of the bytes sent (the stored image of a PNG/JPEG must have it; a DICOM is stored de-identified). */
  sha256: string;
  truth: SecondreadClass;
}

export interface AckedRead {
  studyId: string;
  reader: 'A' | 'B';
  label: string;
}

/** A move of the alias during the run (hot swap), and what predict answered around it. */
export interface AliasEvent {
  t: number;
  action: 'promote' | 'rollback';
  status: number;
  toVersion: number | null;
}

export interface TrafficTokens {
  admin: string;
  reader: string;
  adjudicator: string;
}

/** Path → route template, as the server names its routes (ids replaced), without the query. */
export function routeOf(method: string, url: string): string {
  const path = new URL(url).pathname
    .replace(/^\/v1\/studies\/[^/]+/, '/v1/studies/:id')
    .replace(/^\/v1\/models\/[^/]+\/aliases\/[^/]+/, '/v1/models/:name/aliases/:alias')
    .replace(/^\/v1\/models\/[^/]+/, '/v1/models/:name')
    .replace(/^\/v2\/models\/[^/]+/, '/v2/models/:name')
    .replace(/^\/v1\/evaluations\/[^/]+/, '/v1/evaluations/:id');
  return `${method.toUpperCase()} ${path}`;
}

/** A 5xx or a request without an answer, with what the server said (its error code) or what went wrong on the wire. */
export interface FailureSample {
  t: number;
  route: string;
  status: number;
  what: string;
}

/** Failures kept with their reason (the first ones; every failure is counted in the records anyway). */
export const MAX_FAILURE_SAMPLES = 200;

/** A fetch that records every request it makes (the ApiClient's and the raw calls alike), and why the failed ones failed. */
export function recordingFetch(records: RequestRecord[], t0: number, timeoutMs: number, failures: FailureSample[] = []): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const route = routeOf(init?.method ?? 'GET', url);
    const sent = performance.now();
    const t = (sent - t0) / 1000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      const res = await fetch(input, { ...init, signal });
      records.push({ t, route, status: res.status, ms: performance.now() - sent });
      if (res.status >= 500 && failures.length < MAX_FAILURE_SAMPLES)
        void res
          .clone()
          .text()
          .then((text) => failures.push({ t, route, status: res.status, what: text.slice(0, 300) }))
          .catch(() => {});
      return res;
    } catch (err) {
      records.push({ t, route, status: 0, ms: performance.now() - sent });
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      const what = timeout.aborted
        ? `client timeout: no answer within ${timeoutMs / 1000} s`
        : `${(err as Error).name}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`;
      if (failures.length < MAX_FAILURE_SAMPLES) failures.push({ t, route, status: 0, what });
      throw err;
    }
  };
}

/** Images to take in: phantoms of every class, as PNG and JPEG; DICOM is made per request (each needs its own UIDs). */
export interface ImagePool {
  png: { bytes: Buffer; truth: SecondreadClass }[];
  jpeg: { bytes: Buffer; truth: SecondreadClass }[];
  /** KServe v2 JSON bodies of the PNGs (preprocessed for the benchmark model). */
  tensors: Buffer[];
  dicom(n: number): Promise<{ bytes: Buffer; truth: SecondreadClass }>;
}

const SIZE = 192;

function render(cls: SecondreadClass, seed: number) {
  const rng = new Rng(seed);
  return cls.startsWith('lung-') ? renderCxr(cls, rng, { width: SIZE, height: SIZE }) : renderOct(cls, rng, { width: SIZE, height: SIZE });
}

export async function imagePool(perClass: number): Promise<ImagePool> {
  const png: ImagePool['png'] = [];
  const jpeg: ImagePool['jpeg'] = [];
  for (const [c, cls] of SECONDREAD_CLASSES.entries())
    for (let i = 0; i < perClass; i++) {
      const img = render(cls, 1000 * c + i);
      png.push({ bytes: await encodeGray(img, 'png'), truth: cls });
      jpeg.push({ bytes: await encodeGray(img, 'jpeg'), truth: cls });
    }
  return {
    png,
    jpeg,
    tensors: await tensorBodies(png.map((p) => p.bytes)),
    dicom: async (n) => {
      const cls = SECONDREAD_CLASSES[n % SECONDREAD_CLASSES.length]!;
      const modality = cls.startsWith('lung-') ? 'cxr' : 'oct';
      return { bytes: await encodeDicomPhantom(render(cls, 500_000 + n), { modality, index: n, seed: 500_000 + n }), truth: cls };
    },
  };
}

/** What the mixed clients share: the record, the acknowledged studies and reads, and the studies waiting for each read. */
export class TrafficState {
  readonly records: RequestRecord[] = [];
  readonly studies: AckedStudy[] = [];
  readonly reads: AckedRead[] = [];
  readonly aliasEvents: AliasEvent[] = [];
  /** predict answers by model version, per second of the run (the hot swap as the clients saw it). */
  readonly predictVersions: { t: number; version: number }[] = [];
  /** Saliency maps by the model version explained (each version explained costs the server an explainer session). */
  readonly saliencyVersions: { t: number; version: number }[] = [];
  readonly pendingA: AckedStudy[] = [];
  readonly pendingB: AckedStudy[] = [];
  /** Studies read A (the model's read is visible to everyone then): saliency is asked for these. */
  readonly readA: AckedStudy[] = [];
  /** Client-side errors other than an HTTP status (bugs in the driver would show here). */
  readonly driverErrors: string[] = [];
  /** Why 5xx answers and requests without an answer failed (the first MAX_FAILURE_SAMPLES). */
  readonly failures: FailureSample[] = [];
  evaluation: { id: string; status: string; t: number } | null = null;
  private dicomCount = 0;

  constructor(readonly t0: number) {}

  now(): number {
    return (performance.now() - this.t0) / 1000;
  }

  nextDicom(): number {
    return this.dicomCount++;
  }
}

export interface TrafficContext {
  url: string;
  model: string;
  tokens: TrafficTokens;
  pool: ImagePool;
  state: TrafficState;
  fetch: typeof fetch;
  clients: { admin: ApiClient; reader: ApiClient; adjudicator: ApiClient };
  readerA: SimulatedReader;
  readerB: SimulatedReader;
}

export function trafficContext(url: string, model: string, tokens: TrafficTokens, pool: ImagePool, state: TrafficState, timeoutMs: number): TrafficContext {
  const f = recordingFetch(state.records, state.t0, timeoutMs, state.failures);
  const client = (token: string) => new ApiClient({ baseUrl: url, token, timeoutMs, fetch: f });
  return {
    url,
    model,
    tokens,
    pool,
    state,
    fetch: f,
    clients: { admin: client(tokens.admin), reader: client(tokens.reader), adjudicator: client(tokens.adjudicator) },
    // Reader A errs as a resident might (85 %, misses findings); B is the adjudicator (ground truth).
    readerA: new SimulatedReader({ accuracy: 0.85, seed: 11 }),
    readerB: new SimulatedReader({ accuracy: 1, seed: 12 }),
  };
}

/** The mix of one client's loop: weights of each operation. */
const MIX: readonly [Op, number][] = [
  ['intake', 30],
  ['readA', 20],
  ['readB', 8],
  ['predict', 12],
  ['infer', 12],
  ['worklist', 10],
  ['list', 4],
  ['model', 4],
];
type Op = 'intake' | 'readA' | 'readB' | 'predict' | 'infer' | 'worklist' | 'list' | 'model';
const MIX_TOTAL = MIX.reduce((a, [, w]) => a + w, 0);

function pickOp(rng: Rng): Op {
  let x = rng.next() * MIX_TOTAL;
  for (const [op, w] of MIX) if ((x -= w) < 0) return op;
  return 'intake';
}

/** Errors the server answered are in the record already; anything else is a driver problem worth reporting. */
function noteError(ctx: TrafficContext, err: unknown): void {
  if (err instanceof ApiCallError) return;
  const msg = err instanceof Error ? err.message : String(err);
  if (ctx.state.driverErrors.length < 50) ctx.state.driverErrors.push(msg.slice(0, 300));
}

async function raw(ctx: TrafficContext, method: string, path: string, token: string, body?: { type: string; bytes: Uint8Array | string }): Promise<Response> {
  const res = await ctx.fetch(`${ctx.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': body.type } : {}) },
    body: body?.bytes as RequestInit['body'],
  });
  // The body is read whole (as a client would), so a connection is never left with an unread answer.
  await res.arrayBuffer();
  return res;
}

async function intake(ctx: TrafficContext, rng: Rng): Promise<void> {
  const r = rng.next();
  const kind: ImageKind = r < 0.5 ? 'png' : r < 0.8 ? 'jpeg' : 'dicom';
  const picked = kind === 'dicom' ? await ctx.pool.dicom(ctx.state.nextDicom()) : rng.pick(ctx.pool[kind]);
  const modality = picked.truth.startsWith('lung-') ? 'cxr' : 'oct';
  const contentType = kind === 'png' ? 'image/png' : kind === 'jpeg' ? 'image/jpeg' : 'application/dicom';
  const view = await ctx.clients.admin.createStudy({ image: picked.bytes, contentType, modality, priority: rng.chance(0.1) });
  const acked: AckedStudy = { id: view.id, kind, sha256: sha256Hex(picked.bytes), truth: picked.truth };
  ctx.state.studies.push(acked);
  ctx.state.pendingA.push(acked);
}

/** Reader A: opens the study (blinded) and its image, then commits a label; the decision sends some to B. */
async function readA(ctx: TrafficContext): Promise<boolean> {
  const s = ctx.state.pendingA.shift();
  if (!s) return false;
  await ctx.clients.reader.getStudy(s.id);
  await ctx.clients.reader.getStudyImage(s.id);
  const label = ctx.readerA.read(s.id, s.truth);
  const after: StudyView = await ctx.clients.reader.commitRead(s.id, label);
  ctx.state.reads.push({ studyId: s.id, reader: 'A', label });
  ctx.state.readA.push(s);
  if (after.status === 'awaiting_b') ctx.state.pendingB.push(s);
  return true;
}

async function readB(ctx: TrafficContext): Promise<boolean> {
  const s = ctx.state.pendingB.shift();
  if (!s) return false;
  await ctx.clients.adjudicator.getStudy(s.id);
  const label = ctx.readerB.read(s.id, s.truth);
  await ctx.clients.adjudicator.commitRead(s.id, label);
  ctx.state.reads.push({ studyId: s.id, reader: 'B', label });
  return true;
}

async function once(ctx: TrafficContext, rng: Rng): Promise<void> {
  const op = pickOp(rng);
  switch (op) {
    case 'intake':
      return intake(ctx, rng);
    case 'readA':
      if (await readA(ctx)) return;
      break;
    case 'readB':
      if (await readB(ctx)) return;
      break;
    case 'predict':
      return predictVersion(ctx, rng);
    case 'infer': {
      await raw(ctx, 'POST', `/v2/models/${ctx.model}/infer`, ctx.tokens.reader, { type: 'application/json', bytes: rng.pick(ctx.pool.tensors) });
      return;
    }
    case 'list':
      await raw(ctx, 'GET', '/v1/studies?limit=20', ctx.tokens.admin);
      return;
    case 'model':
      await raw(ctx, 'GET', `/v1/models/${ctx.model}`, ctx.tokens.reader);
      return;
    case 'worklist':
      break;
  }
  // Nothing waiting for that read (or a worklist turn): the reader looks at the worklist instead.
  const which = op === 'readB' || rng.chance(0.3) ? 'B' : 'A';
  await raw(ctx, 'GET', `/v1/worklists/${which}?limit=50`, which === 'A' ? ctx.tokens.reader : ctx.tokens.adjudicator);
}

/** predict, keeping which model version answered (the hot swap, seen from outside). */
async function predictVersion(ctx: TrafficContext, rng: Rng): Promise<void> {
  const img = rng.pick(ctx.pool.png);
  const res = await ctx.fetch(`${ctx.url}/v1/models/${ctx.model}/predict`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.tokens.reader}`, 'content-type': 'image/png' },
    body: img.bytes,
  });
  const body = (await res.json()) as { version?: number };
  if (res.ok && typeof body.version === 'number') ctx.state.predictVersions.push({ t: ctx.state.now(), version: body.version });
}

/** One mixed client: operations drawn from MIX until `until` (performance.now()), one at a time. */
export async function mixedClient(ctx: TrafficContext, seed: number, until: number): Promise<void> {
  const rng = new Rng(seed);
  while (performance.now() < until) {
    try {
      await once(ctx, rng);
    } catch (err) {
      noteError(ctx, err);
    }
  }
}

/** Saliency maps one at a time (they are expensive and the server computes one at a time), on studies already read A. */
export async function saliencyClient(ctx: TrafficContext, until: number, pauseMs: number): Promise<void> {
  const rng = new Rng(77);
  while (performance.now() < until) {
    const s = ctx.state.readA.length ? rng.pick(ctx.state.readA) : undefined;
    if (s) {
      const res = await raw(ctx, 'GET', `/v1/studies/${s.id}/saliency`, ctx.tokens.adjudicator).catch((e: unknown) => noteError(ctx, e));
      const version = /@(\d+)$/.exec(res?.headers.get('x-saliency-model') ?? '')?.[1];
      if (version) ctx.state.saliencyVersions.push({ t: ctx.state.now(), version: Number(version) });
    }
    await sleep(pauseMs, until);
  }
}

/** GET /metrics every `everyMs`: the scrape is traffic too; its text is handed to `onScrape` (event-loop lag, depths). */
export async function metricsScraper(ctx: TrafficContext, until: number, everyMs: number, onScrape: (t: number, text: string) => void): Promise<void> {
  while (performance.now() < until) {
    try {
      const res = await ctx.fetch(`${ctx.url}/metrics`, { headers: { authorization: `Bearer ${ctx.tokens.admin}` } });
      const text = await res.text();
      if (res.ok) onScrape(ctx.state.now(), text);
    } catch (err) {
      noteError(ctx, err);
    }
    await sleep(everyMs, until);
  }
}

/**
 * The once-per-run operations: an evaluation job at 10 % of the run, then the alias promoted to `toVersion` at
 * `promoteAtMs` (default 40 % of the run) and rolled back at `rollbackAtMs` (default 60 %), both from `startMs`.
 */
export async function controlClient(
  ctx: TrafficContext,
  o: { startMs: number; durationMs: number; datasetVersion: string; toVersion: number; promoteAtMs?: number; rollbackAtMs?: number },
): Promise<void> {
  const atMs = (ms: number) => sleep(o.startMs + ms - performance.now(), Number.POSITIVE_INFINITY);
  const at = (fraction: number) => atMs(fraction * o.durationMs);
  const post = (path: string, json: unknown) =>
    ctx.fetch(`${ctx.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });
  try {
    await at(0.1);
    const res = await post('/v1/evaluations', { model: ctx.model, datasetVersion: o.datasetVersion, split: 'test' });
    const ev = (await res.json()) as { id?: string; status?: string };
    if (res.ok && ev.id) ctx.state.evaluation = { id: ev.id, status: ev.status ?? 'queued', t: ctx.state.now() };

    await (o.promoteAtMs === undefined ? at(0.4) : atMs(o.promoteAtMs));
    let r = await post(`/v1/models/${ctx.model}/aliases/production`, { version: o.toVersion, reason: 'soak: hot swap under load' });
    ctx.state.aliasEvents.push({
      t: ctx.state.now(),
      action: 'promote',
      status: r.status,
      toVersion: ((await r.json()) as { version?: number }).version ?? null,
    });

    await (o.rollbackAtMs === undefined ? at(0.6) : atMs(o.rollbackAtMs));
    r = await post(`/v1/models/${ctx.model}/aliases/production/rollback`, { reason: 'soak: roll back under load' });
    ctx.state.aliasEvents.push({ t: ctx.state.now(), action: 'rollback', status: r.status, toVersion: ((await r.json()) as { to?: number }).to ?? null });
  } catch (err) {
    noteError(ctx, err);
  }
}

/** Polls the evaluation until it is finished (or `timeoutMs`), recording its final status. */
export async function awaitEvaluation(ctx: TrafficContext, timeoutMs: number): Promise<void> {
  const ev = ctx.state.evaluation;
  if (!ev) return;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const res = await ctx.fetch(`${ctx.url}/v1/evaluations/${ev.id}`, { headers: { authorization: `Bearer ${ctx.tokens.admin}` } });
    const body = (await res.json()) as { status?: string };
    if (body.status) ev.status = body.status;
    if (ev.status === 'succeeded' || ev.status === 'failed' || ev.status === 'cancelled') return;
    await sleep(500, Number.POSITIVE_INFINITY);
  }
}

function sleep(ms: number, until: number): Promise<void> {
  const wait = Math.max(0, Math.min(ms, until - performance.now()));
  return new Promise((r) => setTimeout(r, wait));
}
