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
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

import { describeError, SecondreadError, ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/ids.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { decodeOrThrow, readImageHeader, strictPipeline } from '../data/images/decode.js';
import { type ConstTensor, type DecodedModel, decodeModel, EngineError, gradients, Graph, init, type TensorRef } from '../engine/index.js';
import { createLoadedModel, imageToInput, type ModelMetadata, type ModelRegistry, type ModelVersion } from '../tracking/index.js';

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

/** Model input geometry: `channels` planes of size×size. */
interface Geometry {
  channels: number;
  size: number;
}

// ---- the gradient model: registered ONNX → engine graph → + input gradient --------------------------

const GRAD_OUTPUT = 'saliency.input_grad';
const LOGITS_OUTPUT = 'saliency.logits';
const SEED_INPUT = 'saliency.class_seed';

/** Optional outputs the engine's gradient rule for an op reads (saved forward statistics). */
const OUTPUTS_FOR_GRADIENT: Readonly<Record<string, number>> = { LayerNormalization: 3 };

/** Opset 13 moved Split/Squeeze/Unsqueeze/ReduceSum axes to inputs; the graph builder speaks 17+, which reads them the same way. */
const MIN_REBUILD_OPSET = 13;

type GradientMeta = Pick<ModelMetadata, 'input' | 'output' | 'preprocessing' | 'classes'>;

function constantNodeValue(n: DecodedModel['nodes'][number]): ConstTensor {
  const a = n.attrs;
  const v = a.value ?? a.value_float ?? a.value_floats ?? a.value_int ?? a.value_ints;
  switch (v?.type) {
    case 'tensor':
      return v.value;
    case 'float':
      return { dtype: 'float32', shape: [], data: Float32Array.of(v.value) };
    case 'floats':
      return { dtype: 'float32', shape: [v.value.length], data: Float32Array.from(v.value) };
    case 'int':
      return { dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(v.value)) };
    case 'ints':
      return { dtype: 'int64', shape: [v.value.length], data: BigInt64Array.from(v.value.map(BigInt)) };
    default:
      throw new EngineError('unsupported_op', `Constant node '${n.name}' has no value the engine can read`, { op: 'Constant' });
  }
}

/**
 * Rebuilds a decoded ONNX classifier as an engine Graph whose input has a fixed batch, so the engine's
 * shape inference and gradient rules apply to it. Weights become constants (only the input is
 * differentiated). EngineError for anything the graph builder does not know.
 */
export function rebuildGraph(m: DecodedModel, meta: GradientMeta, batch: number): { g: Graph; input: TensorRef; logits: TensorRef } {
  if (m.opset < MIN_REBUILD_OPSET) throw new EngineError('unsupported_op', `opset ${m.opset} is older than ${MIN_REBUILD_OPSET}`);
  const g = new Graph('saliency', { mode: 'eval', opset: Math.max(17, m.opset) });
  const tensors = new Map<string, TensorRef>();
  const { channels, size } = meta.preprocessing;
  for (const i of m.inputs) {
    if (m.initializers.has(i.name)) continue; // old exporters list initializers among the inputs
    if (i.name !== meta.input.name) throw new EngineError('invalid_argument', `the model has a second input '${i.name}'`);
    tensors.set(i.name, g.input(i.name, 'float32', [batch, channels, size, size]));
  }
  const input = tensors.get(meta.input.name);
  if (!input) throw new EngineError('invalid_argument', `the model has no input '${meta.input.name}'`);
  for (const [name, t] of m.initializers) tensors.set(name, g.constant(t.data, t.shape, t.dtype));
  const ref = (name: string): TensorRef | undefined => {
    if (name === '') return undefined;
    const t = tensors.get(name);
    if (!t) throw new EngineError('unknown_tensor', `tensor '${name}' is used before it is produced`);
    return t;
  };
  for (const n of m.nodes) {
    if (n.domain !== '' && n.domain !== 'ai.onnx') throw new EngineError('unsupported_op', `op ${n.domain}.${n.opType}`, { op: n.opType });
    if (n.opType === 'Constant') {
      const c = constantNodeValue(n);
      tensors.set(n.outputs[0]!, g.constant(c.data, c.shape, c.dtype));
      continue;
    }
    let count = n.outputs.length;
    while (count > 0 && n.outputs[count - 1] === '') count--; // trailing optional outputs left off
    count = Math.max(count, OUTPUTS_FOR_GRADIENT[n.opType] ?? 0);
    g.node(n.opType, n.inputs.map(ref), n.attrs, count).forEach((t, k) => {
      if (n.outputs[k]) tensors.set(n.outputs[k], t);
    });
  }
  const logits = ref(meta.output.name);
  if (!logits) throw new EngineError('invalid_argument', `the model has no output '${meta.output.name}'`);
  return { g, input, logits };
}

/**
 * ONNX bytes of the model's forward pass plus ∂(Σ seed ⊙ logits)/∂input: a one-hot seed row per image
 * gives the gradient of that class's logit. Inputs: the model's input and `saliency.class_seed`
 * [batch, classes]; outputs: `saliency.logits`, `saliency.input_grad`.
 */
export function inputGradientModel(onnxBytes: Uint8Array, meta: GradientMeta, batch: number): Uint8Array {
  const { g, input, logits } = rebuildGraph(decodeModel(onnxBytes), meta, batch);
  if (logits.shape.length !== 2 || logits.shape[0] !== batch || logits.shape[1] !== meta.classes.length) {
    throw new EngineError('shape_mismatch', `logits are [${logits.shape.join(', ')}], expected [${batch}, ${meta.classes.length}]`);
  }
  const seed = g.input(SEED_INPUT, logits.dtype, logits.shape);
  const grad = gradients(g, logits, [input], { seed }).get(input.name)!;
  return g.toModelProto({ outputs: [g.output(logits, LOGITS_OUTPUT), g.output(grad, GRAD_OUTPUT)] });
}

/** A session of the gradient model: logits and the input gradient of one class, for `batch` images per run. */
export class InputGradient {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    readonly batch: number,
    readonly geometry: Geometry,
    private readonly classes: number,
  ) {}

  static async create(onnxBytes: Uint8Array, meta: GradientMeta, o: { batch: number; threads?: number }): Promise<InputGradient> {
    const model = inputGradientModel(onnxBytes, meta, o.batch);
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: o.threads ?? 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    return new InputGradient(session, meta.input.name, o.batch, meta.preprocessing, meta.classes.length);
  }

  /** `inputs` holds exactly `batch` images [C, S, S] end to end; each one's `classIndex` logit is differentiated. */
  async run(inputs: Float32Array, classIndex: number): Promise<{ logits: Float32Array; grad: Float32Array }> {
    const { batch, classes } = this;
    const { channels, size } = this.geometry;
    const seed = new Float32Array(batch * classes);
    for (let r = 0; r < batch; r++) seed[r * classes + classIndex] = 1;
    const out = await this.session.run(
      { [this.inputName]: new ort.Tensor('float32', inputs, [batch, channels, size, size]), [SEED_INPUT]: new ort.Tensor('float32', seed, [batch, classes]) },
      [LOGITS_OUTPUT, GRAD_OUTPUT],
    );
    return { logits: out[LOGITS_OUTPUT]!.data as Float32Array, grad: out[GRAD_OUTPUT]!.data as Float32Array };
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

// ---- the maps (size×size, in the model's letterboxed frame) -----------------------------------------

/** Logits [n, classes] of n inputs laid end to end. */
export type Forward = (inputs: Float32Array, n: number) => Promise<Float32Array>;

export interface SmoothGradOptions {
  /** Noisy copies averaged (default 8). */
  samples?: number;
  /** Noise σ as a share of the input's value range (default 0.15, the paper's 10-20%). */
  noise?: number;
  /** The noise is seeded: the same request gives the same map. */
  seed?: number;
}

/** SmoothGrad: |mean over noisy copies of ∂logit/∂input|, max over channels. `range` = the input's value range. */
export async function smoothGrad(
  model: InputGradient,
  input: Float32Array,
  classIndex: number,
  range: number,
  o: SmoothGradOptions = {},
): Promise<Float32Array> {
  const samples = o.samples ?? 8;
  const sigma = (o.noise ?? 0.15) * range;
  const rng = init.createRng(o.seed ?? 1);
  const plane = input.length;
  const sum = new Float64Array(plane);
  for (let start = 0; start < samples; start += model.batch) {
    const rows = Math.min(model.batch, samples - start);
    const batch = new Float32Array(model.batch * plane);
    for (let r = 0; r < model.batch; r++) {
      for (let i = 0; i < plane; i++) batch[r * plane + i] = input[i]! + (r < rows ? sigma * rng.normal() : 0);
    }
    const { grad } = await model.run(batch, classIndex);
    for (let r = 0; r < rows; r++) for (let i = 0; i < plane; i++) sum[i]! += grad[r * plane + i]!;
  }
  return maxOverChannels(sum, model.geometry, (v) => Math.abs(v / samples));
}

function maxOverChannels(values: ArrayLike<number>, { channels, size }: Geometry, f: (v: number) => number): Float32Array {
  const px = size * size;
  const out = new Float32Array(px);
  for (let i = 0; i < px; i++) {
    let m = 0;
    for (let c = 0; c < channels; c++) m = Math.max(m, f(values[c * px + i]!));
    out[i] = m;
  }
  return out;
}

export interface OcclusionOptions {
  /** Side of the occluding square (default size/4). */
  patch?: number;
  /** Step between squares (default size/8: every pixel is covered by up to four). */
  stride?: number;
  /** Occluded inputs per forward call (default 16). */
  chunk?: number;
}

/** Square starts along one axis, the last one flush with the edge. */
function starts(size: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let s = 0; s + patch < size; s += stride) out.push(s);
  out.push(size - patch);
  return [...new Set(out)];
}

/**
 * Occlusion sensitivity: for each square, the drop of the class logit when the square is set to
 * `fill` (per channel: the normalized value of a black pixel, what the letterbox pads with); a pixel
 * gets the mean positive drop of the squares that covered it.
 */
export async function occlusionMap(
  forward: Forward,
  input: Float32Array,
  classIndex: number,
  classes: number,
  geometry: Geometry,
  fill: readonly number[],
  o: OcclusionOptions = {},
): Promise<Float32Array> {
  const { channels, size } = geometry;
  const patch = Math.max(1, o.patch ?? Math.round(size / 4));
  const stride = Math.max(1, o.stride ?? Math.round(size / 8));
  const chunk = o.chunk ?? 16;
  const px = size * size;
  const plane = channels * px;
  const base = (await forward(input, 1))[classIndex]!;
  const squares = starts(size, patch, stride).flatMap((y) => starts(size, patch, stride).map((x) => ({ x, y })));
  const credit = new Float64Array(px);
  const cover = new Uint32Array(px);
  for (let s0 = 0; s0 < squares.length; s0 += chunk) {
    const part = squares.slice(s0, s0 + chunk);
    const batch = new Float32Array(part.length * plane);
    part.forEach(({ x, y }, r) => {
      batch.set(input, r * plane);
      for (let c = 0; c < channels; c++)
        for (let yy = y; yy < y + patch; yy++) batch.fill(fill[c] ?? fill[0]!, r * plane + c * px + yy * size + x, r * plane + c * px + yy * size + x + patch);
    });
    const logits = await forward(batch, part.length);
    part.forEach(({ x, y }, r) => {
      const drop = Math.max(0, base - logits[r * classes + classIndex]!);
      for (let yy = y; yy < y + patch; yy++) {
        for (let xx = x; xx < x + patch; xx++) {
          credit[yy * size + xx]! += drop;
          cover[yy * size + xx]! += 1;
        }
      }
    });
  }
  return Float32Array.from(credit, (v, i) => (cover[i] ? v / cover[i]! : 0));
}

/** Separable Gaussian blur of a size×size map (edges clamped). */
export function gaussianBlur(map: Float32Array, size: number, sigma: number): Float32Array {
  if (!(sigma > 0)) return Float32Array.from(map);
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  const pass = (src: Float32Array, horizontal: boolean): Float32Array => {
    const dst = new Float32Array(src.length);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = horizontal ? Math.min(size - 1, Math.max(0, x + k)) : x;
          const yy = horizontal ? y : Math.min(size - 1, Math.max(0, y + k));
          acc += kernel[k + radius]! * src[yy * size + xx]!;
        }
        dst[y * size + x] = acc / total;
      }
    }
    return dst;
  };
  return pass(pass(map, true), false);
}

/** Scales a non-negative map into [0, 1] by its 99th percentile (one hot pixel does not wash out the rest). */
export function normalizeMap(map: Float32Array): Float32Array {
  const finite = Float32Array.from(map, (v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const sorted = Float32Array.from(finite).sort();
  const top = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]! || sorted[sorted.length - 1]!;
  return top > 0 ? finite.map((v) => Math.min(1, v / top)) : finite;
}

// ---- the picture -----------------------------------------------------------------------------------

/** Blue → cyan → yellow → red: the ramp radiology viewers use for heatmaps. */
const RAMP: readonly [number, [number, number, number]][] = [
  [0, [0, 0, 255]],
  [0.35, [0, 255, 255]],
  [0.65, [255, 255, 0]],
  [1, [255, 0, 0]],
];

function rampColour(t: number): [number, number, number] {
  for (let k = 1; k < RAMP.length; k++) {
    const [t1, c1] = RAMP[k]!;
    if (t <= t1 || k === RAMP.length - 1) {
      const [t0, c0] = RAMP[k - 1]!;
      const f = Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
      return [0, 1, 2].map((i) => Math.round(c0[i]! + f * (c1[i]! - c0[i]!))) as [number, number, number];
    }
  }
  return RAMP[RAMP.length - 1]![1];
}

/** Heat below this stays see-through, so the anatomy under weak evidence is not tinted. */
const ALPHA_FLOOR = 0.15;
const MAX_ALPHA = 0.6;

/**
 * The image (grayscale, longest side ≤ maxSize) with the heatmap blended over it. The map is in the
 * letterboxed square the model saw; each image pixel samples it (bilinear) where the letterbox put it.
 */
export async function renderOverlay(
  image: Uint8Array,
  heat: Float32Array,
  heatSize: number,
  o: { maxSize?: number } = {},
): Promise<{ png: Buffer; width: number; height: number }> {
  const maxSize = o.maxSize ?? 512;
  await readImageHeader(image);
  const { data, info } = await decodeOrThrow(() =>
    strictPipeline(image)
      .greyscale()
      .resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true }),
  );
  const { width, height } = info;
  const side = Math.max(width, height);
  const offX = (side - width) / 2;
  const offY = (side - height) / 2;
  const sample = (u: number, v: number): number => {
    const x = Math.min(heatSize - 1, Math.max(0, u));
    const y = Math.min(heatSize - 1, Math.max(0, v));
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const x1 = Math.min(heatSize - 1, x0 + 1);
    const y1 = Math.min(heatSize - 1, y0 + 1);
    const fx = x - x0;
    const fy = y - y0;
    const at = (xx: number, yy: number) => heat[yy * heatSize + xx]!;
    return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1 - fx) * at(x0, y1) + fx * at(x1, y1));
  };
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const h = sample(((x + offX + 0.5) / side) * heatSize - 0.5, ((y + offY + 0.5) / side) * heatSize - 0.5);
      const alpha = MAX_ALPHA * Math.min(1, Math.max(0, (h - ALPHA_FLOOR) / (1 - ALPHA_FLOOR)));
      const gray = data[y * width + x]!;
      const colour = rampColour(h);
      for (let c = 0; c < 3; c++) rgb[(y * width + x) * 3 + c] = Math.round((1 - alpha) * gray + alpha * colour[c]!);
    }
  }
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return { png, width, height };
}

// ---- the service ---------------------------------------------------------------------------------

export interface SaliencyServiceOptions {
  registry: Pick<ModelRegistry, 'resolve' | 'modelBytes'>;
  logger?: Logger;
  /** ONNX Runtime intra-op threads per session (default 1: saliency must not starve serving). */
  threads?: number;
  smoothGrad?: SmoothGradOptions;
  occlusion?: OcclusionOptions;
  /** Longest side of the returned picture (default 512). */
  maxSize?: number;
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
    const std = channelValue(meta.preprocessing.std, 0);
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
      classIndex = argmax(await this.logitsOf(ex, input));
    }

    let map: Float32Array;
    if (method === 'smoothgrad') {
      map = await smoothGrad(ex.gradient!, input, classIndex, (255 * meta.preprocessing.scale) / std, this.o.smoothGrad);
    } else {
      const fill = Array.from({ length: channels }, (_, c) => -channelValue(meta.preprocessing.mean, c) / channelValue(meta.preprocessing.std, c));
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
    const batch = typeof declared === 'number' && declared > 0 ? declared : (this.o.smoothGrad?.samples ?? 8);
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

function channelValue(v: number | number[], c: number): number {
  return Array.isArray(v) ? (v.length === 1 ? v[0]! : v[c]!) : v;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}
