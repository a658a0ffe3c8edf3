// What a session needs from a model: a function that builds it on a Graph (in 'train' or 'eval' mode, see
// graph.ts) and names its logits and, in train mode, its loss. Batches are fed as plain typed arrays.
import ort from 'onnxruntime-node';

import { EngineError } from '../errors.js';
import type { Dim, Graph, TensorRef } from '../graph.js';
import type { TensorData } from '../onnx/dtype.js';

export interface ModelOutputs {
  logits: TensorRef;
  /** Scalar training loss; required in train mode, optional in eval mode. */
  loss?: TensorRef;
  /**
   * The pooled features the classification head reads, [batch, dim] (optional, eval mode). The inference export
   * adds it as a second output named EMBEDDING_OUTPUT, so a server can watch for drift in representation space.
   */
  embedding?: TensorRef;
  /** Further outputs of an exported model, by output name (a detector's decoded boxes and NMS selection). */
  outputs?: Readonly<Record<string, TensorRef>>;
}

/** Declares the model's inputs on `g` (g.input) and builds it; reads `g.mode` for train/eval behaviour. */
export type ModelBuilder = (g: Graph) => ModelOutputs;

/** One batch input: row-major values and their shape. */
export interface FeedTensor {
  data: TensorData;
  shape: readonly number[];
}

export type Batch = Readonly<Record<string, FeedTensor>>;

const ARRAY_OF = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

/**
 * Checks `batch` against the graph's batch inputs, binds symbolic dims (e.g. 'batch' = 32) and wraps each value
 * in an ORT tensor without copying.
 */
export function bindBatch(inputs: readonly TensorRef[], batch: Batch, into: Record<string, ort.Tensor>): Map<string, number> {
  const dims = new Map<string, number>();
  const names = new Set(inputs.map((t) => t.name));
  for (const k of Object.keys(batch)) {
    if (!names.has(k)) throw new EngineError('invalid_argument', `unexpected batch input '${k}' (the model takes ${[...names].join(', ')})`);
  }
  for (const t of inputs) {
    const f = batch[t.name];
    if (!f) throw new EngineError('invalid_argument', `missing batch input '${t.name}'`);
    if (!(f.data instanceof ARRAY_OF[t.dtype])) {
      throw new EngineError('invalid_argument', `batch input '${t.name}' must be a ${ARRAY_OF[t.dtype].name} (${t.dtype}), got ${f.data.constructor.name}`);
    }
    const where = `batch input '${t.name}' has shape [${f.shape.join(', ')}], the model expects [${t.shape.join(', ')}]`;
    if (f.shape.length !== t.shape.length) throw new EngineError('shape_mismatch', where);
    t.shape.forEach((d: Dim, i) => {
      const got = f.shape[i] as number;
      if (typeof d === 'number') {
        if (d !== got) throw new EngineError('shape_mismatch', where);
      } else {
        const bound = dims.get(d);
        if (bound !== undefined && bound !== got) throw new EngineError('shape_mismatch', `${where}: '${d}' is ${bound} in another input`);
        dims.set(d, got);
      }
    });
    const n = f.shape.reduce((a, b) => a * b, 1);
    if (f.data.length !== n) throw new EngineError('shape_mismatch', `batch input '${t.name}' has ${f.data.length} values for shape [${f.shape.join(', ')}]`);
    into[t.name] = new ort.Tensor(t.dtype, f.data, [...f.shape]);
  }
  return dims;
}

/** The concrete shape of `t` given bound symbolic dims. */
export function resolveShape(t: TensorRef, dims: ReadonlyMap<string, number>): number[] {
  return t.shape.map((d) => {
    if (typeof d === 'number') return d;
    const v = dims.get(d);
    if (v === undefined) throw new EngineError('shape_mismatch', `cannot size '${t.name}' [${t.shape.join(', ')}]: '${d}' is not a dim of any batch input`);
    return v;
  });
}
