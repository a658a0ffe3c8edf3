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
 *
 * This file is the builder itself; the plain records it holds and hands out (TensorRef, NodeRecord, ParamInfo, …)
 * are in ./graph-records.ts and the typing of node attributes in ./attributes.ts, both re-exported here. The class
 * stays whole (about 360 lines): naming, leaves, nodes and queries all read and write the same private maps.
 */
import './ops/shape-rules.js';

import { type AttrValue, normalizeAttrs } from './attributes.js';
import { EngineError } from './errors.js';
import {
  type BufferUpdate,
  checkShape,
  type CompositeRecord,
  type ConstTensor,
  type Dim,
  type GraphOptions,
  type Mode,
  type NodeRecord,
  type ParamInfo,
  type Shape,
  type TensorRef,
} from './graph-records.js';
import { createRng, type Initializer, seedFor } from './init.js';
import { type DType, isFloat, makeData, type TensorData } from './onnx/dtype.js';
import { serialize, type SerializeOptions } from './onnx/serialize.js';
import { inferOutputs, type OutputSpec } from './ops/registry.js';
import { describe, sameShape } from './ops/shape-util.js';

export type { DType, TensorData } from './onnx/dtype.js';
export { describe, sameShape, staticSize } from './ops/shape-util.js';
export { attr, type Attr, type AttrValue } from './attributes.js';
export type { BufferUpdate, CompositeRecord, ConstTensor, Dim, GraphOptions, Mode, NodeRecord, ParamInfo, Shape, TensorRef } from './graph-records.js';

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
