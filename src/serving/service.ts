// What the API calls to score images: the façade over serving's parts. It validates the options, picks
// the version for each request (deployments.ts: aliases, canary split, shadow, hot swap by polling),
// holds it in the runtime pool while the request runs (runtime-pool.ts: lazy load, warm-up, retire
// when unused, LRU of versions asked for by number), hands shadow work to the recorder (shadow.ts), and
// turns runtimes' logits into answers (predict, KServe v2 infer, describe, readiness).
import { performance } from 'node:perf_hooks';

import { type Clock, systemClock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { readImageHeader } from '../data/images/decode.js';
import type { Db } from '../storage/db.js';
import { type Alias, assertAlias, assertModelName, type ModelRegistry } from '../tracking/index.js';
import { BackgroundTasks } from './background.js';
import { DEFAULT_BATCHER_OPTIONS, validateBatcherOptions } from './batcher.js';
import { Deployments, type Target } from './deployments.js';
import { detectorInferOutputs, detectorOutputDescriptions, toServedDetections } from './detections.js';
import { ClientGoneError, ModelNotReadyError, ModelTaskError } from './errors.js';
import { guardObserver } from './observer.js';
import { ModelRuntime } from './runtime.js';
import { type PoolEntry, RuntimePool } from './runtime-pool.js';
import { dbShadowStore, type ProductionAnswer, ShadowRecorder, type ShadowStore } from './shadow.js';
import { checkTensor } from './tensor-input.js';
import {
  type InferOptions,
  type InferResult,
  isDetectResult,
  type ModelAnswer,
  type ModelDescription,
  type PredictOptions,
  type PredictResult,
  type ServingObserver,
  type ServingOptions,
  type TensorInput,
} from './types.js';

export { canaryBucket } from './deployments.js';

export const DEFAULT_SERVING_OPTIONS: ServingOptions = {
  threads: 2,
  batching: {},
  canaryWeight: 0,
  shadow: false,
  aliasPollMs: 2000,
  pinnedVersions: 3,
  instances: 1,
  maxInferBatch: 256,
};

export interface ServingDeps {
  registry: ModelRegistry;
  db: Db;
  logger: Logger;
  observer?: ServingObserver;
  clock?: Clock;
  /** Where shadow comparisons are recorded (default: the DB's `shadow_comparisons` table). */
  shadowStore?: ShadowStore;
  /** The canary share a staged rollout sets per model (src/rollout), read with the aliases; null: `canaryWeight`. */
  canaryWeights?: (name: string) => Promise<number | null>;
}

export class ServingService {
  readonly options: ServingOptions;
  private readonly registry: ModelRegistry;
  private readonly logger: Logger;
  private readonly observer: ServingObserver;
  private readonly background = new BackgroundTasks();
  private readonly pool: RuntimePool;
  private readonly deployments: Deployments;
  private readonly shadows: ShadowRecorder;
  /** Outcome of every `preload` call: the server is ready when none is pending or failed. */
  private readonly preloads = new Map<string, 'pending' | 'done' | 'failed'>();
  private closed = false;

  constructor(deps: ServingDeps, options: Partial<ServingOptions> = {}) {
    this.registry = deps.registry;
    this.logger = deps.logger;
    this.observer = guardObserver(deps.observer ?? {}, deps.logger);
    this.options = { ...DEFAULT_SERVING_OPTIONS, ...options };
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
    this.shadows = new ShadowRecorder({
      store: deps.shadowStore ?? dbShadowStore(deps.db),
      clock: deps.clock ?? systemClock,
      logger: deps.logger,
      observer: this.observer,
    });
    this.pool = new RuntimePool({
      load: (name, version) => this.load(name, version),
      wanted: () => this.deployments.wanted(),
      background: this.background,
      logger: deps.logger,
      pinnedVersions: o.pinnedVersions,
    });
    this.deployments = new Deployments(
      {
        registry: deps.registry,
        logger: deps.logger,
        observer: this.observer,
        warm: (name, version) => this.pool.using(this.pool.hold(name, version), async () => undefined),
        changed: () => this.pool.sweep(),
        canaryWeight: deps.canaryWeights,
      },
      o,
    );
  }

  /**
   * A classifier's class probabilities (a detector: ModelTaskError, 409 — use predictImages). Default: alias
   * `production` (canary/shadow rules apply only then). studyId makes canary routing sticky.
   */
  async predict(name: string, image: Uint8Array, o: PredictOptions = {}): Promise<PredictResult> {
    return classifications(await this.predictMany(name, [image], o))[0]!;
  }

  /** Several images, one routing decision: their forward passes join the same batches. A classifier's answers. */
  async predictBatch(name: string, images: Uint8Array[], o: PredictOptions = {}): Promise<PredictResult[]> {
    return classifications(await this.predictImages(name, images, o));
  }

  /**
   * Any model's answers, one per image in order: a classifier's probabilities, or a detector's boxes in each
   * ORIGINAL image's pixels (DICOM included). One routing decision; the forward passes join the same batches.
   */
  async predictImages(name: string, images: Uint8Array[], o: PredictOptions = {}): Promise<ModelAnswer[]> {
    if (images.length === 0) throw new ValidationError('no images to predict');
    return this.predictMany(name, images, o);
  }

  /** KServe v2: raw tensor in (already preprocessed, FP32 NCHW), logits out. */
  async infer(name: string, input: TensorInput, o: InferOptions = {}): Promise<InferResult> {
    this.assertOpen();
    if (o.signal?.aborted) throw new ClientGoneError();
    const held = await this.acquire(name, { version: o.version }, '');
    return this.pool.using(held.entry, async (rt) => {
      const [c, s] = [rt.metadata.preprocessing.channels, rt.metadata.preprocessing.size];
      const n = checkTensor(input, [c, s, s], this.options.maxInferBatch, rt.metadata.input.name);
      const rows = Array.from({ length: n }, (_, i) => input.data.subarray(i * rt.plane, (i + 1) * rt.plane));
      const scores = await Promise.all(rows.map((r) => rt.scores(r, { signal: o.signal })));
      const detection = rt.metadata.detection;
      // A detector's boxes stay in input pixels: the tensor is already letterboxed, the original size unknown.
      if (detection)
        return {
          version: rt.version,
          outputs: detectorInferOutputs(
            scores.map((x) => x.detections ?? []),
            detection.maxDetections,
          ),
        };
      const k = rt.metadata.classes.length;
      const data = new Float32Array(n * k);
      scores.forEach((x, i) => data.set(x.logits, i * k));
      return { version: rt.version, outputs: [{ name: rt.metadata.output.name, datatype: 'FP32', shape: [n, k], data }] };
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
      outputs: m.detection ? detectorOutputDescriptions(m.detection) : [{ name: m.output.name, datatype: 'FP32', shape: [-1, m.classes.length] }],
      classes: [...m.classes],
      task: m.detection ? 'detect' : 'classify',
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
      const done = this.pool.using(held.entry, async () => undefined);
      if (!ready)
        this.background.track(
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
      await this.pool.using(held.entry, async () => undefined);
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
    await this.deployments.stop();
    await this.background.settled();
    await this.pool.closeAll();
  }

  /** Resolves when every background task (shadow scoring, probe-started loads) has finished. For tests and shutdown. */
  settled(): Promise<void> {
    return this.background.settled();
  }

  /** The versions loaded right now (for diagnostics and tests). */
  loadedVersions(): { model: string; version: number; ready: boolean }[] {
    return this.pool.list();
  }

  /** The versions this server currently serves per alias of a model (after the last poll). */
  servedAliases(name: string): Partial<Record<Alias, number>> {
    return this.deployments.served(name);
  }

  /** Reads every followed model's aliases now; a moved alias that is served is loaded, warmed, then swapped in. */
  poll(): Promise<void> {
    return this.deployments.poll();
  }

  private async predictMany(name: string, images: Uint8Array[], o: PredictOptions): Promise<ModelAnswer[]> {
    this.assertOpen();
    const t0 = performance.now();
    const requestId = o.requestId ?? newId('req_');
    if (o.signal?.aborted) throw new ClientGoneError();
    const { target, entry, shadow } = await this.acquire(name, o, o.studyId ?? requestId);
    let tensors: Float32Array[] = [];
    let preprocessing = '';
    const results = await this.pool
      .using(entry, async (rt) => {
        preprocessing = JSON.stringify(rt.metadata.preprocessing);
        const { classes, detection, preprocessing: pre } = rt.metadata;
        // A detector's boxes go back to each original image: its size from the header (DICOM: Columns × Rows).
        const [prepared, sizes] = await Promise.all([
          Promise.all(images.map((img) => rt.preprocess(img))),
          detection ? Promise.all(images.map((img) => readImageHeader(img))) : null,
        ]);
        tensors = prepared;
        const scores = await Promise.all(tensors.map((t) => rt.scores(t, { signal: o.signal })));
        const latencyMs = performance.now() - t0;
        return scores.map(({ logits, embedding, detections }, i): ModelAnswer => {
          if (sizes) {
            const image = { width: sizes[i]!.width, height: sizes[i]!.height };
            const served = toServedDetections(detections ?? [], classes, image, pre.size);
            return { model: name, version: rt.version, route: target.route, task: 'detect', detections: served, image, latencyMs, requestId };
          }
          const predictions = rt.classify(logits);
          const r: PredictResult = { model: name, version: rt.version, route: target.route, predictions, top: predictions[0]!, latencyMs, requestId };
          return o.embedding === true && embedding ? { ...r, embedding } : r;
        });
      })
      .catch((err: unknown) => {
        if (shadow) this.pool.release(shadow);
        throw err;
      });
    const classified = results.filter((r): r is PredictResult => !isDetectResult(r));
    for (const r of classified) this.observer.prediction?.({ model: name, version: r.version, route: r.route }, r.top, r.latencyMs);
    // Shadow comparisons are of top classes: a detector's answers are not compared (its shadow hold is released).
    if (shadow && classified.length === results.length)
      this.recordShadow(shadow, { images, tensors, preprocessing, results: classified, requestId, studyId: o.studyId ?? null });
    else if (shadow) this.pool.release(shadow);
    return results;
  }

  /** Hands the shadow version (held) to the recorder in the background; the hold is released when it is done. */
  private recordShadow(held: PoolEntry, answer: ProductionAnswer): void {
    this.background.track(this.shadows.record({ model: held.name, version: held.version }, (fn) => this.pool.using(held, fn), answer));
  }

  /**
   * Picks the version for a request and takes a hold on it (and on the shadow version, if any). After the
   * alias table is read, choosing and holding happen in one synchronous step: a swap cannot retire the
   * version between the two.
   */
  private async acquire(
    name: string,
    o: { version?: number; alias?: string },
    stickyKey: string,
  ): Promise<{ target: Target; entry: PoolEntry; shadow: PoolEntry | null }> {
    assertModelName(name);
    if (o.version !== undefined && o.alias !== undefined) throw new ValidationError('give a version or an alias, not both');
    if (o.version !== undefined && (!Number.isInteger(o.version) || o.version < 1))
      throw new ValidationError(`invalid model version '${String(o.version)}': a positive integer`, { version: o.version });
    const alias = o.alias !== undefined ? assertAlias(o.alias) : undefined;
    let target: Target;
    if (o.version !== undefined) {
      target = { route: 'version', version: o.version };
      this.pool.pin(name, target.version);
    } else {
      const table = this.deployments.pointersOf(name);
      const p = table instanceof Promise ? await table : table;
      target = this.deployments.pick(name, p, alias, stickyKey);
    }
    const entry = this.pool.hold(name, target.version);
    const shadow = target.shadowVersion !== undefined ? this.pool.hold(name, target.shadowVersion) : null;
    return { target, entry, shadow };
  }

  /** Loads a version from the registry and warms it up: the runtime pool calls this for a version it does not hold. */
  private async load(name: string, version: number): Promise<ModelRuntime> {
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

  private assertOpen(): void {
    if (this.closed) throw new ModelNotReadyError('the server is shutting down', { retryAfterSeconds: 1 });
  }
}

/** The answers of a classifier; a detector's answers are boxes, not probabilities (ModelTaskError). */
function classifications(results: ModelAnswer[]): PredictResult[] {
  const det = results.find(isDetectResult);
  if (det)
    throw new ModelTaskError(
      `${det.model} version ${det.version} is a detector: it answers boxes, not class probabilities (POST /v1/models/${det.model}/predict returns them)`,
      {
        model: det.model,
        version: det.version,
      },
    );
  return results as PredictResult[];
}
