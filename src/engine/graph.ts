/**
 * The graph builder: a model is written as calls on a `Graph` (directly with `g.node(...)` or through the
 * functional ops in ./ops), and the graph serializes to a standard ONNX ModelProto (opset >= 17).
 *
 * Tensors are typed handles (`TensorRef`: name, dtype, static shape); a dimension is a number or a string,
 * and a string is a symbolic dimension (the batch, `'batch'`). Every node runs shape inference when it is
 * added, so shape mistakes fail at build time with an EngineError naming the op and the shapes.
 *
 * Modes. A graph is built in `'train'` or `'eval'` mode (`new Graph(name, { mode })`, default `'eval'`); the
 * ops read `g.mode`, so one model-building function gives both graphs:
 *  - `batchNorm` in train mode normalizes with batch statistics and records the running mean/var updates
 *    (`g.bufferUpdates()`, also graph outputs named `<buffer>.updated`); in eval mode it is one
 *    BatchNormalization node over the running statistics.
 *  - `dropout` in train mode is a Dropout node with training_mode = true and no seed, so ONNX Runtime
 *    draws a fresh mask on every run; in eval mode it adds no node at all.
 *
 * Parameters (`g.param`) are trainable; buffers (`g.buffer`) are state that is updated but not trained.
 * Both are initialized by a seeded initializer (./init.ts): values depend only on (graph seed, full name).
 *
 * Composite ops. Some ops are built from several ONNX nodes (Gelu from Erf, training-mode batch norm from
 * reductions). `g.composite(...)` records such a group under one op type, so autodiff applies one rule for
 * the whole group (reusing saved forward intermediates) instead of differentiating every primitive.
 */
import './ops/shape-rules.js';

import { EngineError } from './errors.js';
import { createRng, type Initializer, seedFor } from './init.js';
import { type DType, isFloat, makeData, type TensorData } from './onnx/dtype.js';
import { serialize, type SerializeOptions } from './onnx/serialize.js';
import { inferOutputs, type OutputSpec } from './ops/registry.js';
import { describe, sameShape } from './ops/shape-util.js';

export type { DType, TensorData } from './onnx/dtype.js';
export { describe, sameShape, staticSize } from './ops/shape-util.js';

export type Dim = number | string;
export type Shape = readonly Dim[];
export type Mode = 'train' | 'eval';

export interface TensorRef {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

export interface ConstTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export type Attr =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'tensor'; readonly value: ConstTensor };

/** Loose attribute values; numbers become ints unless the attribute is a known float (see FLOAT_ATTRS) or wrapped with `attr.float`. */
export type AttrValue = number | readonly number[] | string | readonly string[] | Attr;

export const attr = {
  float: (value: number): Attr => ({ type: 'float', value }),
  floats: (value: readonly number[]): Attr => ({ type: 'floats', value }),
  int: (value: number): Attr => ({ type: 'int', value }),
  ints: (value: readonly number[]): Attr => ({ type: 'ints', value }),
};

// ONNX attributes are typed; these names are floats in every op the engine emits.
const FLOAT_ATTRS = new Set(['epsilon', 'momentum', 'alpha', 'beta', 'gamma', 'lambd', 'bias', 'value_float', 'high', 'low', 'mean', 'scale']);
const FLOAT_ATTRS_BY_OP: Record<string, readonly string[]> = {
  RandomUniform: ['seed'],
  RandomUniformLike: ['seed'],
  RandomNormal: ['seed'],
  RandomNormalLike: ['seed'],
};

export interface NodeRecord {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  /** Input tensor names; '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

export interface ParamInfo {
  readonly name: string;
  readonly kind: 'param' | 'buffer';
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly init: Initializer;
  /** Initial values, generated once from (graph seed, name). */
  values(): TensorData;
}

export interface CompositeRecord {
  readonly opType: string;
  readonly inputs: readonly (TensorRef | undefined)[];
  readonly outputs: readonly TensorRef[];
  /** Forward intermediates the gradient rule reuses. */
  readonly saved: Readonly<Record<string, TensorRef>>;
  readonly attrs: Readonly<Record<string, Attr>>;
  /** The nodes [firstNode, endNode) of g.nodes() that implement it. */
  readonly firstNode: number;
  readonly endNode: number;
}

export interface BufferUpdate {
  readonly buffer: string;
  readonly value: TensorRef;
}

export interface GraphOptions {
  /** ONNX default-domain opset, >= 17 (default 17). */
  opset?: number;
  mode?: Mode;
  /** Seed of every parameter initializer (default 0). */
  seed?: number;
}

type TensorKind = 'input' | 'param' | 'buffer' | 'constant' | 'node';

interface TensorInfo {
  ref: TensorRef;
  kind: TensorKind;
}

export class Graph {
  readonly name: string;
  readonly opset: number;
  readonly mode: Mode;
  readonly seed: number;

  private readonly tensorInfo = new Map<string, TensorInfo>();
  private readonly nodeList: NodeRecord[] = [];
  private readonly producerIndex = new Map<string, number>();
  private readonly inputList: TensorRef[] = [];
  private readonly outputList: TensorRef[] = [];
  private readonly paramList: ParamInfo[] = [];
  private readonly constValues = new Map<string, ConstTensor>();
  private readonly constCache = new Map<string, TensorRef>();
  private readonly knownValues = new Map<string, readonly Dim[]>();
  private readonly updates: BufferUpdate[] = [];
  private readonly compositeList: CompositeRecord[] = [];
  private readonly usedNames = new Set<string>();
  private readonly counters = new Map<string, number>();
  private scopes: string[] = [];

  constructor(name: string, opts: GraphOptions = {}) {
    this.name = name;
    this.opset = opts.opset ?? 17;
    if (!Number.isInteger(this.opset) || this.opset < 17) {
      throw new EngineError('invalid_argument', `opset must be an integer >= 17, got ${opts.opset}`);
    }
    this.mode = opts.mode ?? 'eval';
    this.seed = opts.seed ?? 0;
  }

  // ---- naming -------------------------------------------------------------------------------------

  /** Runs `fn` with `prefix.` prepended to the names of params, buffers and nodes it creates. */
  scope<T>(prefix: string, fn: () => T): T {
    this.scopes.push(prefix);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private scoped(name: string): string {
    return this.scopes.length ? `${this.scopes.join('.')}.${name}` : name;
  }

  /** A fresh name derived from `base` (base, base_1, base_2, …). */
  uniqueName(base: string): string {
    const full = this.scoped(base);
    if (!this.usedNames.has(full)) {
      this.usedNames.add(full);
      return full;
    }
    let n = this.counters.get(full) ?? 0;
    let candidate: string;
    do candidate = `${full}_${++n}`;
    while (this.usedNames.has(candidate));
    this.counters.set(full, n);
    this.usedNames.add(candidate);
    return candidate;
  }

  private claim(name: string): void {
    if (this.usedNames.has(name)) throw new EngineError('duplicate_name', `the name '${name}' is already used in graph '${this.name}'`);
    this.usedNames.add(name);
  }

  private register(ref: TensorRef, kind: TensorKind): TensorRef {
    this.tensorInfo.set(ref.name, { ref, kind });
    return ref;
  }

  // ---- leaves ---------------------------------------------------------------------------------------

  input(name: string, dtype: DType, shape: Shape): TensorRef {
    checkShape(shape, `input '${name}'`);
    this.claim(name);
    const ref = this.register({ name, dtype, shape: [...shape] }, 'input');
    this.inputList.push(ref);
    return ref;
  }

  /** A trainable parameter (float dtype, default float32). */
  param(name: string, shape: readonly number[], init: Initializer, opts: { dtype?: DType } = {}): TensorRef {
    return this.leafState('param', name, shape, init, opts.dtype ?? 'float32');
  }

  /** Non-trained state (e.g. batch-norm running statistics). */
  buffer(name: string, shape: readonly number[], init: Initializer, opts: { dtype?: DType } = {}): TensorRef {
    return this.leafState('buffer', name, shape, init, opts.dtype ?? 'float32');
  }

  private leafState(kind: 'param' | 'buffer', name: string, shape: readonly number[], init: Initializer, dtype: DType): TensorRef {
    const full = this.scoped(name);
    checkShape(shape, `${kind} '${full}'`, true);
    if (kind === 'param' && !isFloat(dtype)) throw new EngineError('invalid_argument', `parameter '${full}' must be float32 or float64, got ${dtype}`);
    this.claim(full);
    const ref = this.register({ name: full, dtype, shape: [...shape] }, kind);
    const seed = seedFor(this.seed, full);
    let cached: TensorData | undefined;
    this.paramList.push({
      name: full,
      kind,
      dtype,
      shape: [...shape],
      init,
      values: () => (cached ??= makeData(dtype, init.fill(shape, createRng(seed)))),
    });
    return ref;
  }

  /**
   * A constant tensor (an ONNX initializer). Numbers default to float32; pass dtype 'int64' for shapes and
   * indices. Small constants are shared, so repeated scalars (0.5, 1, …) do not bloat the model.
   */
  constant(values: number | readonly number[] | readonly bigint[] | TensorData, shape?: readonly number[], dtype?: DType): TensorRef {
    const arr: ArrayLike<number> | ArrayLike<bigint> = typeof values === 'number' ? [values] : (values as ArrayLike<number>);
    const dt: DType = dtype ?? (values instanceof Float64Array ? 'float64' : values instanceof BigInt64Array ? 'int64' : 'float32');
    const shp = shape ?? (typeof values === 'number' ? [] : [arr.length]);
    const n = shp.reduce((a, b) => a * b, 1);
    if (n !== arr.length) {
      throw new EngineError('shape_mismatch', `constant has ${arr.length} values but shape [${shp.join(', ')}] needs ${n}`);
    }
    const data = makeData(dt, arr);
    const key = n <= 64 ? `${dt}|${shp.join(',')}|${Array.from(data as ArrayLike<number | bigint>).join(',')}` : undefined;
    const hit = key ? this.constCache.get(key) : undefined;
    if (hit) return hit;
    const ref = this.register({ name: this.uniqueName('const'), dtype: dt, shape: [...shp] }, 'constant');
    this.constValues.set(ref.name, { dtype: dt, shape: [...shp], data });
    if (dt === 'int64' || dt === 'int32') this.knownValues.set(ref.name, Array.from(data as ArrayLike<number | bigint>, Number));
    if (key) this.constCache.set(key, ref);
    return ref;
  }

  /** A scalar constant with the dtype of `like` (keeps ops dtype-generic: float32 models, float64 tests). */
  scalar(value: number, like: TensorRef | DType): TensorRef {
    return this.constant(value, [], typeof like === 'string' ? like : like.dtype);
  }

  /** A 1-D int64 constant (shapes, axes, indices). */
  ints(values: readonly number[]): TensorRef {
    return this.constant(values, [values.length], 'int64');
  }

  // ---- nodes ----------------------------------------------------------------------------------------

  /**
   * Adds one ONNX node. Omitted optional inputs are `undefined`. Shape inference runs now and gives the
   * outputs' dtypes and shapes; `nOutputs` limits how many outputs are materialized (optional trailing
   * outputs left off).
   */
  node(opType: string, inputs: readonly (TensorRef | undefined)[], attrs: Readonly<Record<string, AttrValue>> = {}, nOutputs?: number): TensorRef[] {
    for (const t of inputs) if (t) this.checkOwned(t, opType);
    const normalized = normalizeAttrs(opType, attrs);
    const specs = inferOutputs(this, opType, inputs, normalized, nOutputs);
    const count = nOutputs ?? specs.length;
    if (specs.length < count) {
      throw new EngineError('invalid_argument', `${opType} has ${specs.length} outputs, ${count} were requested`);
    }
    const nodeName = this.uniqueName(opType);
    const outputs = specs.slice(0, count).map((s: OutputSpec, i) => {
      const name = i === 0 ? nodeName : this.uniqueName(`${nodeName}.${i}`);
      const ref = this.register({ name, dtype: s.dtype, shape: s.shape }, 'node');
      if (s.value) this.knownValues.set(name, s.value);
      this.producerIndex.set(name, this.nodeList.length);
      return ref;
    });
    let last = inputs.length;
    while (last > 0 && inputs[last - 1] === undefined) last--;
    this.nodeList.push({
      name: nodeName,
      opType,
      domain: '',
      inputs: inputs.slice(0, last).map((t) => t?.name ?? ''),
      outputs: outputs.map((o) => o.name),
      attrs: normalized,
    });
    return outputs;
  }

  /** One-output shorthand of `node`. */
  op(opType: string, inputs: readonly (TensorRef | undefined)[], attrs: Readonly<Record<string, AttrValue>> = {}): TensorRef {
    return this.node(opType, inputs, attrs, 1)[0] as TensorRef;
  }

  /**
   * Records the nodes `build` adds as one composite op `opType` (see the header). `build` returns the
   * composite's outputs and the intermediates its gradient rule needs.
   */
  composite(
    opType: string,
    inputs: readonly (TensorRef | undefined)[],
    attrs: Readonly<Record<string, AttrValue>>,
    build: () => { outputs: TensorRef[]; saved?: Record<string, TensorRef> },
  ): TensorRef[] {
    const firstNode = this.nodeList.length;
    const { outputs, saved = {} } = build();
    this.compositeList.push({ opType, inputs: [...inputs], outputs, saved, attrs: normalizeAttrs(opType, attrs), firstNode, endNode: this.nodeList.length });
    return outputs;
  }

  private checkOwned(t: TensorRef, where: string): void {
    const info = this.tensorInfo.get(t.name);
    if (!info) throw new EngineError('unknown_tensor', `${where}: tensor '${t.name}' does not belong to graph '${this.name}'`);
  }

  // ---- outputs and state updates --------------------------------------------------------------------

  /** Marks `t` as a graph output; with `name`, the output gets that name (through an Identity node). */
  output(t: TensorRef, name?: string): TensorRef {
    this.checkOwned(t, 'output');
    let ref = t;
    if (name !== undefined && name !== t.name) {
      this.claim(name);
      ref = this.register({ name, dtype: t.dtype, shape: t.shape }, 'node');
      this.producerIndex.set(name, this.nodeList.length);
      this.nodeList.push({ name: `${name}.identity`, opType: 'Identity', domain: '', inputs: [t.name], outputs: [name], attrs: {} });
    }
    if (!this.outputList.some((o) => o.name === ref.name)) this.outputList.push(ref);
    return ref;
  }

  /** Records the new value of a buffer (train mode) and exposes it as the graph output `<buffer>.updated`. */
  updateBuffer(buffer: TensorRef, value: TensorRef): void {
    const info = this.tensorInfo.get(buffer.name);
    if (info?.kind !== 'buffer') throw new EngineError('invalid_argument', `updateBuffer: '${buffer.name}' is not a buffer`);
    if (!sameShape(buffer.shape, value.shape) || buffer.dtype !== value.dtype) {
      throw new EngineError('shape_mismatch', `updateBuffer: '${buffer.name}' is ${describe(buffer)} but the update is ${describe(value)}`);
    }
    const out = this.output(value, `${buffer.name}.updated`);
    this.updates.push({ buffer: buffer.name, value: out });
  }

  // ---- queries ----------------------------------------------------------------------------------------

  nodes(): readonly NodeRecord[] {
    return this.nodeList;
  }
  inputs(): readonly TensorRef[] {
    return this.inputList;
  }
  outputs(): readonly TensorRef[] {
    return this.outputList;
  }
  params(): readonly ParamInfo[] {
    return this.paramList.filter((p) => p.kind === 'param');
  }
  buffers(): readonly ParamInfo[] {
    return this.paramList.filter((p) => p.kind === 'buffer');
  }
  /** Params and buffers in creation order. */
  state(): readonly ParamInfo[] {
    return this.paramList;
  }
  constants(): ReadonlyMap<string, ConstTensor> {
    return this.constValues;
  }
  composites(): readonly CompositeRecord[] {
    return this.compositeList;
  }
  bufferUpdates(): readonly BufferUpdate[] {
    return this.updates;
  }

  has(name: string): boolean {
    return this.tensorInfo.has(name);
  }

  tensor(name: string): TensorRef {
    const info = this.tensorInfo.get(name);
    if (!info) throw new EngineError('unknown_tensor', `no tensor '${name}' in graph '${this.name}'`);
    return info.ref;
  }

  kindOf(name: string): TensorKind {
    const info = this.tensorInfo.get(name);
    if (!info) throw new EngineError('unknown_tensor', `no tensor '${name}' in graph '${this.name}'`);
    return info.kind;
  }

  /** The node that produces `name`, or undefined for inputs, params, buffers and constants. */
  producer(name: string): NodeRecord | undefined {
    const i = this.producerIndex.get(name);
    return i === undefined ? undefined : this.nodeList[i];
  }

  /** Values of a small integer tensor known at build time (constants, Shape outputs), else undefined. */
  valueOf(t: TensorRef | string): readonly Dim[] | undefined {
    return this.knownValues.get(typeof t === 'string' ? t : t.name);
  }

  constantValue(t: TensorRef | string): ConstTensor | undefined {
    return this.constValues.get(typeof t === 'string' ? t : t.name);
  }

  /** Serializes to ONNX ModelProto bytes (see SerializeOptions: state as inputs, trained values, outputs). */
  toModelProto(opts: SerializeOptions = {}): Uint8Array {
    return serialize(this, opts);
  }
}

function checkShape(shape: Shape, what: string, staticOnly = false): void {
  for (const d of shape) {
    const ok = typeof d === 'number' ? Number.isInteger(d) && d >= 0 : !staticOnly && d.length > 0;
    if (!ok) throw new EngineError('invalid_argument', `${what}: invalid dimension ${JSON.stringify(d)} in shape [${shape.join(', ')}]`);
  }
}

function normalizeAttrs(opType: string, attrs: Readonly<Record<string, AttrValue>>): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  const floatNames = FLOAT_ATTRS_BY_OP[opType] ?? [];
  for (const [k, v] of Object.entries(attrs)) {
    const isFloatName = FLOAT_ATTRS.has(k) || floatNames.includes(k);
    if (typeof v === 'number') out[k] = isFloatName ? { type: 'float', value: v } : { type: 'int', value: checkInt(opType, k, v) };
    else if (typeof v === 'string') out[k] = { type: 'string', value: v };
    else if (Array.isArray(v)) {
      if (v.every((x) => typeof x === 'string')) out[k] = { type: 'strings', value: v as string[] };
      else out[k] = isFloatName ? { type: 'floats', value: v as number[] } : { type: 'ints', value: (v as number[]).map((x) => checkInt(opType, k, x)) };
    } else out[k] = v as Attr;
  }
  return out;
}

function checkInt(opType: string, name: string, v: number): number {
  if (!Number.isInteger(v)) throw new EngineError('invalid_argument', `${opType}: attribute '${name}' must be an integer, got ${v}`);
  return v;
}
