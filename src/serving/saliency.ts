// Saliency: where in the image a model version's score for one class comes from, drawn over the
// image. Two methods; the answer always says which one was used:
//
// - `smoothgrad` (preferred): the registered ONNX is rebuilt with the engine's graph builder, the
//   engine's reverse-mode autodiff appends ∂logit_class/∂input, and ONNX Runtime runs forward and
//   backward in one session. SmoothGrad (Smilkov et al. 2017) averages that gradient over a few
//   copies of the input with Gaussian noise (σ = 15% of the input range), which removes most of the
//   pixel-level speckle of a plain gradient; |mean gradient|, max over channels, is the map.
// - `occlusion` (fallback, Zeiler & Fergus 2014): when the graph cannot be rebuilt or differentiated
//   (an op the engine has no shape or gradient rule for, a quantized model, opset < 13), a black
//   square slides over the input and the drop of the class logit is credited to the pixels it hid.
//   Forward passes of the original model only: works for any ONNX classifier.
//
// Both maps live in the model's letterboxed size×size frame; they are blurred lightly, scaled by their
// 99th percentile, colour-mapped, and alpha-blended over the image at its own aspect ratio.
//
// This file is the queued service (one map at a time, LRU caches of models and pictures); the parts live
// in saliency/: gradient-model.ts (graph rebuild + input gradient), attribution.ts (the two methods,
// blur, scaling), overlay.ts (the picture).
import { describeError, SecondreadError, ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/ids.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { argmaxRow } from '../core/probabilities.js';
import { createLoadedModel, imageToInput, type ModelRegistry, type ModelVersion, perChannel } from '../tracking/index.js';
import { type Forward, gaussianBlur, normalizeMap, occlusionMap, type OcclusionOptions, smoothGrad, type SmoothGradOptions } from './saliency/attribution.js';
import { InputGradient } from './saliency/gradient-model.js';
import { renderOverlay } from './saliency/overlay.js';

export * from './saliency/attribution.js';
export { type Geometry, InputGradient, inputGradientModel, rebuildGraph } from './saliency/gradient-model.js';
export { renderOverlay } from './saliency/overlay.js';

export const SALIENCY_METHODS = ['smoothgrad', 'occlusion'] as const;
export type SaliencyMethod = (typeof SALIENCY_METHODS)[number];

/** Too many saliency requests are already queued (each one is up to seconds of CPU). */
export class SaliencyBusyError extends SecondreadError {
  constructor(queued: number) {
    super('saliency_busy', `${queued} saliency maps are already being computed or queued: retry shortly`, 503, { retryAfterSeconds: 2 });
  }
}

/** `smoothgrad` was asked for explicitly, and this model's graph cannot be differentiated. */
export class SaliencyUnsupportedError extends SecondreadError {
  constructor(model: string, reason: string) {
    super('saliency_unsupported', `${model}: input gradients are not available for this model (${reason}); ask for method=occlusion`, 422, { model, reason });
  }
}

export interface SaliencyServiceOptions {
  registry: Pick<ModelRegistry, 'resolve' | 'modelBytes'>;
  logger?: Logger;
  /** ONNX Runtime intra-op threads per session (default 1: saliency must not starve serving). */
  threads?: number;
  smoothGrad?: SmoothGradOptions;
  occlusion?: OcclusionOptions;
  /** Longest side of the returned picture (default 512). */
  maxSize?: number;
  /**
   * Noisy copies differentiated per ONNX Runtime run (default 1; a model exported with a fixed batch uses its
   * own). Each explainer's session keeps, in its memory arena, the largest forward + backward working set it has
   * run, for as long as the explainer is kept: at 8 copies per run vit-small kept ≈ 80–100 MB per version
   * explained, at 1 copy ≈ 10–30 MB, and a map took no longer (docs/reliability.md, section 5).
   */
  gradientBatch?: number;
  /** Model versions kept ready (default 2). */
  models?: number;
  /** Finished pictures kept (default 32): a viewer asking again gets it at once. */
  cached?: number;
  /** Requests computing or queued before `503 saliency_busy` (default 4). */
  maxQueued?: number;
}

export interface ExplainRequest {
  model: { name: string; version: number };
  image: Uint8Array;
  /** Default: the class the model scores highest on this image. */
  class?: string;
  /** Default: smoothgrad when the model can be differentiated, else occlusion. */
  method?: SaliencyMethod;
}

export interface Explanation {
  png: Buffer;
  width: number;
  height: number;
  method: SaliencyMethod;
  class: string;
  model: { name: string; version: number };
}

/** What one model version needs for both methods, built on first use. */
interface Explainer {
  mv: ModelVersion;
  /** null: not differentiable (`unsupported` says why). */
  gradient: InputGradient | null;
  unsupported: string | null;
  forward: Forward | null;
  release: (() => Promise<void>)[];
}

/** Gets a value and marks it most recently used. */
function touch<K, V>(m: Map<K, V>, k: K): V | undefined {
  const v = m.get(k);
  if (v !== undefined) {
    m.delete(k);
    m.set(k, v);
  }
  return v;
}

export class SaliencyService {
  private readonly logger: Logger;
  private readonly explainers = new Map<string, Explainer>();
  private readonly pictures = new Map<string, Explanation>();
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;

  constructor(private readonly o: SaliencyServiceOptions) {
    this.logger = o.logger ?? silentLogger;
    const b = o.gradientBatch;
    if (b !== undefined && !(Number.isInteger(b) && b >= 1)) throw new ValidationError(`gradientBatch must be an integer ≥ 1, got ${b}`);
  }

  async explain(req: ExplainRequest): Promise<Explanation> {
    const key = [req.model.name, req.model.version, req.class ?? '*', req.method ?? 'auto', sha256Hex(req.image)].join('|');
    const hit = touch(this.pictures, key);
    if (hit) return hit;
    // One map at a time: each is CPU-bound for up to seconds, and parallel ones would only share the cores.
    if (this.queued >= (this.o.maxQueued ?? 4)) throw new SaliencyBusyError(this.queued);
    this.queued++;
    const run = this.queue.then(() => this.compute(req));
    this.queue = run.catch(() => undefined);
    try {
      const out = await run;
      this.pictures.set(key, out);
      while (this.pictures.size > (this.o.cached ?? 32)) this.pictures.delete(this.pictures.keys().next().value!);
      return out;
    } finally {
      this.queued--;
    }
  }

  /** Releases every ONNX Runtime session (waits for the map being computed). */
  async close(): Promise<void> {
    await this.queue;
    for (const k of [...this.explainers.keys()]) await this.evict(k);
    this.pictures.clear();
  }

  private async compute(req: ExplainRequest): Promise<Explanation> {
    const ex = await this.explainer(req.model.name, req.model.version);
    const meta = ex.mv.metadata;
    const label = `${ex.mv.name} v${ex.mv.version}`;
    const input = await imageToInput(req.image, meta.preprocessing);
    const { channels, size } = meta.preprocessing;
    const std = perChannel(meta.preprocessing.std, 0);
    const method: SaliencyMethod = req.method ?? (ex.gradient ? 'smoothgrad' : 'occlusion');
    if (method === 'smoothgrad' && !ex.gradient) throw new SaliencyUnsupportedError(label, ex.unsupported ?? 'unknown');

    let classIndex: number;
    if (req.class !== undefined) {
      classIndex = meta.classes.indexOf(req.class);
      if (classIndex < 0)
        throw new ValidationError(`class '${req.class}' is not one of ${label}'s classes (${meta.classes.join(', ')})`, {
          class: req.class,
          classes: meta.classes,
        });
    } else {
      classIndex = argmaxRow(await this.logitsOf(ex, input));
    }

    let map: Float32Array;
    if (method === 'smoothgrad') {
      map = await smoothGrad(ex.gradient!, input, classIndex, (255 * meta.preprocessing.scale) / std, this.o.smoothGrad);
    } else {
      const fill = Array.from({ length: channels }, (_, c) => -perChannel(meta.preprocessing.mean, c) / perChannel(meta.preprocessing.std, c));
      map = await occlusionMap(await this.forwardOf(ex), input, classIndex, meta.classes.length, meta.preprocessing, fill, this.o.occlusion);
    }
    const heat = normalizeMap(gaussianBlur(map, size, size / 40));
    const picture = await renderOverlay(req.image, heat, size, { maxSize: this.o.maxSize });
    return { ...picture, method, class: meta.classes[classIndex]!, model: { name: ex.mv.name, version: ex.mv.version } };
  }

  /** Clean-image logits: through the gradient session when there is one (no second session needed). */
  private async logitsOf(ex: Explainer, input: Float32Array): Promise<Float32Array> {
    if (ex.gradient) {
      const batch = new Float32Array(ex.gradient.batch * input.length);
      for (let r = 0; r < ex.gradient.batch; r++) batch.set(input, r * input.length);
      return (await ex.gradient.run(batch, 0)).logits.subarray(0, ex.mv.metadata.classes.length);
    }
    return (await this.forwardOf(ex))(input, 1);
  }

  private async explainer(name: string, version: number): Promise<Explainer> {
    const k = `${name}@${version}`;
    const have = touch(this.explainers, k);
    if (have) return have;
    const mv = await this.o.registry.resolve(name, { version });
    const bytes = await this.o.registry.modelBytes(mv);
    const ex: Explainer = { mv, gradient: null, unsupported: null, forward: null, release: [] };
    const declared = mv.metadata.input.shape[0];
    const batch = typeof declared === 'number' && declared > 0 ? declared : (this.o.gradientBatch ?? 1);
    try {
      ex.gradient = await InputGradient.create(bytes, mv.metadata, { batch, threads: this.o.threads });
      ex.release.push(() => ex.gradient!.close());
    } catch (err) {
      // Not a failure of the request: occlusion needs only the forward pass, which serving already proved.
      ex.unsupported = describeError(err);
      this.logger.info({ model: k, reason: ex.unsupported }, 'saliency: input gradients unavailable for this model, using occlusion');
    }
    this.explainers.set(k, ex);
    while (this.explainers.size > (this.o.models ?? 2)) await this.evict(this.explainers.keys().next().value!);
    return ex;
  }

  /** The original model on ONNX Runtime, fed in its declared batch size when it has a fixed one. */
  private async forwardOf(ex: Explainer): Promise<Forward> {
    if (ex.forward) return ex.forward;
    const mv = ex.mv;
    const loaded = await createLoadedModel({
      name: mv.name,
      version: mv.version,
      bytes: await this.o.registry.modelBytes(mv),
      metadata: mv.metadata,
      threads: this.o.threads,
    });
    ex.release.push(() => loaded.close());
    const declared = mv.metadata.input.shape[0];
    const fixed = typeof declared === 'number' && declared > 0 ? declared : 0;
    const plane = mv.metadata.preprocessing.channels * mv.metadata.preprocessing.size ** 2;
    const k = mv.metadata.classes.length;
    ex.forward = async (inputs, n) => {
      if (!fixed) return loaded.logits(inputs, n);
      const out = new Float32Array(n * k);
      for (let s = 0; s < n; s += fixed) {
        const part = new Float32Array(fixed * plane);
        part.set(inputs.subarray(s * plane, Math.min(n, s + fixed) * plane));
        out.set((await loaded.logits(part, fixed)).subarray(0, (Math.min(n, s + fixed) - s) * k), s * k);
      }
      return out;
    };
    return ex.forward;
  }

  private async evict(k: string): Promise<void> {
    const ex = this.explainers.get(k);
    this.explainers.delete(k);
    for (const r of ex?.release ?? [])
      await r().catch((err: unknown) => this.logger.warn({ model: k, err: describeError(err) }, 'saliency: releasing a session failed'));
  }
}
