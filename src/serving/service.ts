// What the API calls to score images: deployments of registered model versions.
//
// - A runtime (session + batcher) is loaded lazily per (name, version), warmed up, and shared by every
//   route that points at that version.
// - Routing: by default the `production` alias; with a canary weight w, a stable hash of the study id
//   sends a fixed share w of studies to `canary` (the same study always goes the same way). Shadow mode
//   scores production requests with `canary` too, in the background, and records both answers in
//   `shadow_comparisons`; the client only ever waits for production.
// - Hot swap: aliases are polled; when one moves, the new version is loaded and warmed while the old one
//   keeps serving, then the pointer is swapped. The old runtime is closed once the last request that
//   picked it up has its answer, so a swap fails no request.
// - Versions asked for by number stay loaded in a small LRU.
import { performance } from 'node:perf_hooks';

import { type Clock, systemClock } from '../core/clock.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { newId, sha256Hex } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../storage/db.js';
import { type Alias, assertAlias, assertModelName, type ModelRegistry } from '../tracking/index.js';
import { DEFAULT_BATCHER_OPTIONS, validateBatcherOptions } from './batcher.js';
import { ClientGoneError, ModelNotReadyError } from './errors.js';
import { ModelRuntime } from './runtime.js';
import type {
  InferOptions,
  InferResult,
  ModelDescription,
  PredictOptions,
  PredictResult,
  Route,
  ServingObserver,
  ServingOptions,
  TensorInput,
} from './types.js';

export const DEFAULT_SERVING_OPTIONS: ServingOptions = {
  threads: 2,
  batching: {},
  canaryWeight: 0,
  shadow: false,
  aliasPollMs: 2000,
};

/** Knobs beyond the contract's ServingOptions. */
export interface ServingExtraOptions {
  /** Versions asked for by number kept loaded (LRU, default 3). */
  pinnedVersions?: number;
  /** Batches computed at the same time per model version (Triton's instance count, default 1). */
  instances?: number;
  /** Most rows one `infer` call may carry (default 256). */
  maxInferBatch?: number;
}

export interface ServingDeps {
  registry: ModelRegistry;
  db: Db;
  logger: Logger;
  observer?: ServingObserver;
  clock?: Clock;
}

/** A loaded (or loading) version and the requests holding it. */
interface Entry {
  key: string;
  name: string;
  version: number;
  runtime: Promise<ModelRuntime>;
  loaded: ModelRuntime | null;
  /** Requests (and swaps) using it: it is closed only when this drops to 0. */
  holds: number;
  retired: boolean;
  onIdle: (() => void) | null;
}

/** The aliases of one model as last read from the registry, and which of them this server serves. */
interface Pointers {
  current: Partial<Record<Alias, number>>;
  served: Set<Alias>;
}

interface Target {
  route: Route;
  version: number;
  /** Shadow mode: the canary version to score in the background. */
  shadowVersion?: number;
}

const key = (name: string, version: number) => `${name}@${version}`;

/** A stable number in [0, 1) for a study: the same study always lands on the same side of the canary split. */
export function canaryBucket(name: string, studyId: string): number {
  return parseInt(sha256Hex(`${name}\u0000${studyId}`).slice(0, 8), 16) / 2 ** 32;
}

export class ServingService {
  readonly options: ServingOptions & Required<ServingExtraOptions>;
  private readonly registry: ModelRegistry;
  private readonly db: Db;
  private readonly logger: Logger;
  private readonly observer: ServingObserver;
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  private readonly pointers = new Map<string, Pointers>();
  private readonly pointerLoads = new Map<string, Promise<Pointers>>();
  /** Keys of versions asked for by number, least recently used first. */
  private readonly pinned: string[] = [];
  /** Versions being loaded for a swap: kept even though nothing points at them yet. */
  private readonly swapping = new Set<string>();
  private readonly background = new Set<Promise<unknown>>();
  /** Outcome of every `preload` call: the server is ready when none is pending or failed. */
  private readonly preloads = new Map<string, 'pending' | 'done' | 'failed'>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | null = null;
  private closed = false;

  constructor(deps: ServingDeps, options: Partial<ServingOptions & ServingExtraOptions> = {}) {
    this.registry = deps.registry;
    this.db = deps.db;
    this.logger = deps.logger;
    this.observer = guardObserver(deps.observer ?? {}, deps.logger);
    this.clock = deps.clock ?? systemClock;
    this.options = { ...DEFAULT_SERVING_OPTIONS, pinnedVersions: 3, instances: 1, maxInferBatch: 256, ...options };
    const o = this.options;
    validateBatcherOptions({ ...DEFAULT_BATCHER_OPTIONS, ...o.batching });
    if (!(o.canaryWeight >= 0 && o.canaryWeight <= 1)) throw new ValidationError(`canaryWeight must be in 0…1, got ${o.canaryWeight}`);
    for (const [k, min] of [
      ['threads', 1],
      ['pinnedVersions', 0],
      ['instances', 1],
      ['maxInferBatch', 1],
      ['aliasPollMs', 0],
    ] as const) {
      if (!Number.isInteger(o[k]) || o[k] < min) throw new ValidationError(`${k} must be an integer ≥ ${min}, got ${o[k]}`);
    }
    if (o.aliasPollMs > 0) this.schedulePoll();
  }

  /** Default: alias `production` (canary/shadow rules apply only then). studyId makes canary routing sticky. */
  async predict(name: string, image: Uint8Array, o: PredictOptions = {}): Promise<PredictResult> {
    return (await this.predictMany(name, [image], o))[0]!;
  }

  /** Several images, one routing decision: their forward passes join the same batches. */
  async predictBatch(name: string, images: Uint8Array[], o: PredictOptions = {}): Promise<PredictResult[]> {
    if (images.length === 0) throw new ValidationError('no images to predict');
    return this.predictMany(name, images, o);
  }

  /** KServe v2: raw tensor in (already preprocessed, FP32 NCHW), logits out. */
  async infer(name: string, input: TensorInput, o: InferOptions = {}): Promise<InferResult> {
    this.assertOpen();
    if (o.signal?.aborted) throw new ClientGoneError();
    const held = await this.acquire(name, { version: o.version }, '');
    return this.using(held.entry, async (rt) => {
      const [c, s] = [rt.metadata.preprocessing.channels, rt.metadata.preprocessing.size];
      const n = checkTensor(input, [c, s, s], this.options.maxInferBatch, rt.metadata.input.name);
      const rows = Array.from({ length: n }, (_, i) => input.data.subarray(i * rt.plane, (i + 1) * rt.plane));
      const logits = await Promise.all(rows.map((r) => rt.score(r, { signal: o.signal })));
      const k = rt.metadata.classes.length;
      const data = new Float32Array(n * k);
      logits.forEach((l, i) => data.set(l, i * k));
      return { version: rt.version, outputName: rt.metadata.output.name, data, shape: [n, k] };
    });
  }

  /** Metadata for GET /v2/models/:name — the named version, else production, else the latest. */
  async describe(name: string, version?: number): Promise<ModelDescription> {
    const versions = (await this.registry.listVersions(name)).map((v) => v.version);
    const target = version ?? (await this.registry.aliases(name)).production;
    const mv = await this.registry.resolve(name, target !== undefined ? { version: target } : {});
    const m = mv.metadata;
    const { channels, size } = m.preprocessing;
    // Any batch size is accepted: rows are batched here (a model with a fixed batch is fed padded chunks).
    return {
      name: mv.name,
      version: mv.version,
      versions,
      platform: 'onnxruntime_onnx',
      inputs: [{ name: m.input.name, datatype: 'FP32', shape: [-1, channels, size, size] }],
      outputs: [{ name: m.output.name, datatype: 'FP32', shape: [-1, m.classes.length] }],
      classes: [...m.classes],
    };
  }

  /**
   * No name: the server can serve (not closed, every `preload` done). With a name: that version (default:
   * production) is loaded and warmed — asking starts loading it, so a client polling readiness gets there.
   */
  async isReady(name?: string, version?: number): Promise<boolean> {
    if (this.closed) return false;
    // A probe answers at once: a preload still running means not ready yet.
    if (name === undefined) return [...this.preloads.values()].every((st) => st === 'done');
    try {
      const held = await this.acquire(name, version !== undefined ? { version } : { alias: 'production' }, '');
      const ready = held.entry.loaded !== null;
      // Not loaded yet: the hold is kept until the load is over, so the probe starts it.
      const done = this.using(held.entry, async () => undefined);
      if (!ready)
        this.track(
          done.catch((err: unknown) => this.logger.warn({ err, model: name, version: held.entry.version }, 'loading a model for a readiness probe failed')),
        );
      else await done;
      return ready;
    } catch (err) {
      this.logger.debug({ err, model: name, version }, 'model not ready');
      return false;
    }
  }

  /** Loads and warms a version now (default: production), so the first request does not pay for it. */
  async preload(name: string, o: { alias?: string; version?: number } = {}): Promise<void> {
    this.assertOpen();
    const id = `${name}:${o.version ?? o.alias ?? 'production'}`;
    this.preloads.set(id, 'pending');
    try {
      const held = await this.acquire(name, o.version !== undefined ? { version: o.version } : { alias: o.alias ?? 'production' }, '');
      await this.using(held.entry, async () => undefined);
      this.preloads.set(id, 'done');
    } catch (err) {
      this.preloads.set(id, 'failed');
      throw err;
    }
  }

  /** Stops polling, waits for background shadow scoring, finishes in-flight requests, releases every session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pollTimer);
    await this.polling;
    await Promise.allSettled([...this.background]);
    await Promise.all([...this.entries.values()].map((e) => this.retire(e)));
  }

  /** Resolves when every background task (shadow scoring, probe-started loads) has finished. For tests and shutdown. */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** The versions loaded right now (for diagnostics and tests). */
  loadedVersions(): { model: string; version: number; ready: boolean }[] {
    return [...this.entries.values()]
      .map((e) => ({ model: e.name, version: e.version, ready: e.loaded !== null }))
      .sort((a, b) => a.model.localeCompare(b.model) || a.version - b.version);
  }

  /** The versions this server currently serves per alias of a model (after the last poll). */
  servedAliases(name: string): Partial<Record<Alias, number>> {
    const p = this.pointers.get(name);
    if (!p) return {};
    return Object.fromEntries([...p.served].filter((a) => p.current[a] !== undefined).map((a) => [a, p.current[a]!]));
  }

  // ---- predictions ----

  private async predictMany(name: string, images: Uint8Array[], o: PredictOptions): Promise<PredictResult[]> {
    this.assertOpen();
    const t0 = performance.now();
    const requestId = o.requestId ?? newId('req_');
    if (o.signal?.aborted) throw new ClientGoneError();
    const { target, entry, shadow } = await this.acquire(name, o, o.studyId ?? requestId);
    let tensors: Float32Array[] = [];
    let preprocessing = '';
    const results = await this.using(entry, async (rt) => {
      preprocessing = JSON.stringify(rt.metadata.preprocessing);
      tensors = await Promise.all(images.map((img) => rt.preprocess(img)));
      const logits = await Promise.all(tensors.map((t) => rt.score(t, { signal: o.signal })));
      const latencyMs = performance.now() - t0;
      return logits.map((l): PredictResult => {
        const predictions = rt.classify(l);
        return { model: name, version: rt.version, route: target.route, predictions, top: predictions[0]!, latencyMs, requestId };
      });
    }).catch((err: unknown) => {
      if (shadow) this.release(shadow);
      throw err;
    });
    for (const r of results) this.observer.prediction?.({ model: name, version: r.version, route: r.route }, r.top, r.latencyMs);
    if (shadow) this.track(this.shadow(shadow, { images, tensors, preprocessing, results, requestId, studyId: o.studyId ?? null }));
    return results;
  }

  /** Scores the same images with the shadow version (held by the caller) and records both answers; never throws. */
  private async shadow(
    held: Entry,
    r: { images: Uint8Array[]; tensors: Float32Array[]; preprocessing: string; results: PredictResult[]; requestId: string; studyId: string | null },
  ): Promise<void> {
    const { name, version } = held;
    try {
      await this.using(held, async (rt) => {
        // Overloaded shadow: skip rather than queue up work nobody waits for.
        if (rt.queueDepth + r.images.length > rt.batching.maxQueueSize / 2) {
          this.observer.dropped?.({ model: name, version }, 'shadow_skipped');
          return;
        }
        const same = JSON.stringify(rt.metadata.preprocessing) === r.preprocessing;
        const inputs = same ? r.tensors : await Promise.all(r.images.map((img) => rt.preprocess(img)));
        const logits = await Promise.all(inputs.map((t) => rt.score(t)));
        const at = this.clock.now().toISOString();
        const rows = logits.map((l, i) => {
          const top = rt.classify(l)[0]!;
          const prod = r.results[i]!;
          return {
            id: newId('shd_'),
            model_name: name,
            production_version: prod.version,
            shadow_version: rt.version,
            request_id: r.requestId,
            study_id: r.studyId,
            production_class: prod.top.class,
            production_probability: prod.top.probability,
            shadow_class: top.class,
            shadow_probability: top.probability,
            agree: top.class === prod.top.class ? 1 : 0,
            at,
          };
        });
        await this.db.insertInto('shadow_comparisons').values(rows).execute();
        for (const row of rows)
          this.observer.shadow?.({ model: name, productionVersion: row.production_version, shadowVersion: row.shadow_version }, row.agree === 1);
      });
    } catch (err) {
      this.logger.warn({ err, model: name, shadowVersion: version, requestId: r.requestId }, 'shadow scoring failed (the production answer was not affected)');
    }
  }

  // ---- routing ----

  /**
   * Picks the version for a request and takes a hold on it (and on the shadow version, if any). After the
   * alias table is read, choosing and holding happen in one synchronous step: a swap cannot retire the
   * version between the two.
   */
  private async acquire(
    name: string,
    o: { version?: number; alias?: string },
    stickyKey: string,
  ): Promise<{ target: Target; entry: Entry; shadow: Entry | null }> {
    assertModelName(name);
    if (o.version !== undefined && o.alias !== undefined) throw new ValidationError('give a version or an alias, not both');
    if (o.version !== undefined && (!Number.isInteger(o.version) || o.version < 1))
      throw new ValidationError(`invalid model version '${String(o.version)}': a positive integer`, { version: o.version });
    const alias = o.alias !== undefined ? assertAlias(o.alias) : undefined;
    const p = o.version !== undefined ? null : (this.pointers.get(name) ?? (await this.readPointers(name)));
    const target = p ? this.pick(name, p, alias, stickyKey) : { route: 'version' as const, version: o.version! };
    if (target.route === 'version') this.pin(key(name, target.version));
    const entry = this.hold(name, target.version);
    const shadow = target.shadowVersion !== undefined ? this.hold(name, target.shadowVersion) : null;
    return { target, entry, shadow };
  }

  private pick(name: string, p: Pointers, alias: Alias | undefined, stickyKey: string): Target {
    if (alias !== undefined) return { route: 'alias', version: this.follow(name, p, alias) };
    const production = this.follow(name, p, 'production');
    const { canaryWeight, shadow } = this.options;
    if (canaryWeight === 0 && !shadow) return { route: 'production', version: production };
    p.served.add('canary');
    const canary = p.current.canary;
    if (canary === undefined || canary === production) return { route: 'production', version: production };
    if (canaryWeight > 0 && canaryBucket(name, stickyKey) < canaryWeight) return { route: 'canary', version: canary };
    return shadow ? { route: 'production', version: production, shadowVersion: canary } : { route: 'production', version: production };
  }

  /** The version an alias points at (as of the last poll); the alias is served from now on, so polling follows it. */
  private follow(name: string, p: Pointers, alias: Alias): number {
    p.served.add(alias);
    const v = p.current[alias];
    if (v === undefined) throw new NotFoundError('model alias', `${name}@${alias}`);
    return v;
  }

  private readPointers(name: string): Promise<Pointers> {
    let p = this.pointerLoads.get(name);
    if (!p) {
      p = this.registry
        .aliases(name)
        .then((current) => {
          const existing = this.pointers.get(name);
          if (existing) return existing;
          const created: Pointers = { current, served: new Set() };
          this.pointers.set(name, created);
          return created;
        })
        .finally(() => this.pointerLoads.delete(name));
      this.pointerLoads.set(name, p);
    }
    return p;
  }

  // ---- runtimes: load, hold, retire ----

  /** Takes a hold on (name, version), starting its load if it is not loaded: it cannot be closed while held. */
  private hold(name: string, version: number): Entry {
    const e = this.entries.get(key(name, version)) ?? this.entry(name, version);
    e.holds += 1;
    return e;
  }

  private release(e: Entry): void {
    e.holds -= 1;
    if (e.holds > 0) return;
    if (e.retired) e.onIdle?.();
    else if (!this.wanted().has(e.key)) this.track(this.retire(e));
  }

  /** Runs `fn` on a held entry's runtime, then releases the hold. */
  private async using<T>(e: Entry, fn: (rt: ModelRuntime) => Promise<T>): Promise<T> {
    try {
      return await fn(await e.runtime);
    } finally {
      this.release(e);
    }
  }

  private entry(name: string, version: number): Entry {
    const k = key(name, version);
    const runtime = this.start(name, version);
    const e: Entry = { key: k, name, version, runtime, loaded: null, holds: 0, retired: false, onIdle: null };
    e.runtime = runtime.then(
      (rt) => {
        e.loaded = rt;
        return rt;
      },
      (err: unknown) => {
        // A failed load is not cached: the next request tries again (the registry may have been fixed).
        if (this.entries.get(k) === e) this.entries.delete(k);
        throw err;
      },
    );
    // Whoever holds the entry awaits `runtime` and gets the load error; this only keeps a load that fails
    // before its holder awaits it (a shadow waits for the production answer first) from counting as unhandled.
    e.runtime.catch(() => undefined);
    this.entries.set(k, e);
    return e;
  }

  private async start(name: string, version: number): Promise<ModelRuntime> {
    const t0 = performance.now();
    const model = await this.registry.loadForInference(name, { version }, { cacheDir: this.options.cacheDir, threads: this.options.threads });
    const m = { model: name, version };
    const rt = await ModelRuntime.start(model, {
      batching: this.options.batching,
      instances: this.options.instances,
      observer: {
        batch: (e) => this.observer.batch?.(m, e),
        queueDepth: (d) => this.observer.queueDepth?.(m, d),
        dropped: (r) => this.observer.dropped?.(m, r),
      },
    });
    this.logger.info(
      { model: name, version, ms: Math.round(performance.now() - t0), threads: this.options.threads, batching: rt.batching },
      'model loaded and warmed up',
    );
    return rt;
  }

  /** Remembers a version asked for by number; the least recently used beyond the limit is unloaded. */
  private pin(k: string): void {
    const i = this.pinned.indexOf(k);
    if (i >= 0) this.pinned.splice(i, 1);
    this.pinned.push(k);
    if (this.pinned.length > this.options.pinnedVersions) {
      this.pinned.splice(0, this.pinned.length - this.options.pinnedVersions);
      this.sweep();
    }
  }

  /** Retires every loaded version that no served alias points at, no swap is loading and the LRU does not keep. */
  private sweep(): void {
    const wanted = this.wanted();
    for (const e of [...this.entries.values()]) if (!wanted.has(e.key) && e.holds === 0) this.track(this.retire(e));
  }

  /** Keys of the versions to keep loaded (an unwanted version still held is retired when released). */
  private wanted(): Set<string> {
    const wanted = new Set<string>([...this.pinned, ...this.swapping]);
    for (const [name, p] of this.pointers) for (const a of p.served) if (p.current[a] !== undefined) wanted.add(key(name, p.current[a]!));
    return wanted;
  }

  /** Unlists the entry now (new requests load afresh), closes it once the last request holding it is done. */
  private async retire(e: Entry): Promise<void> {
    if (e.retired) return;
    e.retired = true;
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    if (e.holds > 0) await new Promise<void>((resolve) => (e.onIdle = resolve));
    e.onIdle = null;
    const rt = await e.runtime.catch(() => null);
    if (rt) {
      await rt.close();
      this.logger.info({ model: e.name, version: e.version }, 'model unloaded');
    }
  }

  // ---- alias polling and hot swap ----

  private schedulePoll(): void {
    this.pollTimer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = null;
        if (!this.closed) this.schedulePoll();
      });
    }, this.options.aliasPollMs);
    this.pollTimer.unref();
  }

  /** Reads every followed model's aliases; a moved alias that is served is loaded, warmed, then swapped in. */
  async poll(): Promise<void> {
    for (const [name, p] of this.pointers) {
      if (this.closed) return;
      let fresh: Partial<Record<Alias, number>>;
      try {
        fresh = await this.registry.aliases(name);
      } catch (err) {
        this.logger.warn({ err, model: name }, 'alias poll failed; serving the versions already loaded');
        continue;
      }
      for (const alias of Object.keys({ ...p.current, ...fresh }) as Alias[]) {
        const from = p.current[alias];
        const to = fresh[alias];
        if (from === to) continue;
        if (to !== undefined && p.served.has(alias)) {
          const k = key(name, to);
          this.swapping.add(k);
          try {
            await this.using(this.hold(name, to), async () => undefined);
          } catch (err) {
            this.logger.error({ err, model: name, alias, from, to }, 'cannot load the version an alias moved to; still serving the previous one');
            continue;
          } finally {
            this.swapping.delete(k);
          }
          if (this.closed) return;
        }
        if (to === undefined) delete p.current[alias];
        else p.current[alias] = to;
        if (p.served.has(alias) && to !== undefined) {
          this.logger.info({ model: name, alias, from: from ?? null, to }, 'alias moved: new version swapped in');
          this.observer.swapped?.({ model: name, alias, from: from ?? null, to });
        }
        this.sweep();
      }
    }
  }

  // ---- helpers ----

  private track(p: Promise<unknown>): void {
    const t = p.finally(() => this.background.delete(t));
    this.background.add(t);
  }

  private assertOpen(): void {
    if (this.closed) throw new ModelNotReadyError('the server is shutting down', { retryAfterSeconds: 1 });
  }
}

/**
 * The observer with each callback made safe: a metrics bug is logged, never turned into a failed request
 * or a batch whose requests are never answered.
 */
function guardObserver(o: ServingObserver, logger: Logger): ServingObserver {
  const out: Record<string, unknown> = {};
  for (const k of ['batch', 'queueDepth', 'dropped', 'prediction', 'shadow', 'swapped'] as const) {
    const fn = o[k] as ((...args: unknown[]) => void) | undefined;
    if (!fn) continue;
    out[k] = (...args: unknown[]) => {
      try {
        fn.apply(o, args);
      } catch (err) {
        logger.warn({ err, callback: k }, 'serving observer failed');
      }
    };
  }
  return out as ServingObserver;
}

/** Checks a raw tensor against the model input [N, C, H, W]; returns N. */
function checkTensor(input: TensorInput, chw: number[], maxBatch: number, inputName: string): number {
  const { shape, data } = input;
  const expected = `[N, ${chw.join(', ')}]`;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ValidationError(`input '${inputName}' must have shape ${expected}, got [${String(shape)}]`, { shape, expected });
  }
  if (shape.slice(1).some((d, i) => d !== chw[i]))
    throw new ValidationError(`input '${inputName}' must have shape ${expected}, got [${shape.join(', ')}]`, { shape, expected });
  const n = shape[0]!;
  if (n > maxBatch) throw new ValidationError(`at most ${maxBatch} rows per inference request, got ${n}`, { rows: n, max: maxBatch });
  const count = shape.reduce((a, b) => a * b, 1);
  if (!(data instanceof Float32Array) || data.length !== count)
    throw new ValidationError(`shape [${shape.join(', ')}] needs ${count} FP32 values, got ${data?.length ?? 0}`, { shape, values: data?.length ?? 0 });
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new ValidationError(`input value ${i} is not a finite number`, { index: i });
  return n;
}
