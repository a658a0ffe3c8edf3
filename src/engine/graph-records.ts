// The plain records a Graph holds and hands out: tensor handles, constants, nodes, parameters, composites,
// buffer updates, the graph's options, and the check every declared shape passes.
import type { Attr } from './attributes.js';
import { EngineError } from './errors.js';
import type { Initializer } from './init.js';
import type { DType, TensorData } from './onnx/dtype.js';

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

/** Throws unless every dim is a non-negative integer or (unless staticOnly) a non-empty symbol. */
export function checkShape(shape: Shape, what: string, staticOnly = false): void {
  for (const d of shape) {
    const ok = typeof d === 'number' ? Number.isInteger(d) && d >= 0 : !staticOnly && d.length > 0;
    if (!ok) throw new EngineError('invalid_argument', `${what}: invalid dimension ${JSON.stringify(d)} in shape [${shape.join(', ')}]`);
  }
}
