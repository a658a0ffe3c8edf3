// Training state held between steps: every parameter, buffer and optimizer slot has two preallocated buffers.
// A step feeds the current one and has ONNX Runtime write the new value straight into the other (a preallocated
// fetch), then the two swap — so no parameter-sized array is allocated in JS per step, and a tensor is never read
// and written by the same run (ORT gives no ordering guarantee between a kernel reading an input and another
// kernel writing a graph output).
import ort from 'onnxruntime-node';

import type { StoredTensor } from '../checkpoint/safetensors.js';
import { EngineError } from '../errors.js';
import { allocData, type DType, type TensorData } from '../onnx/dtype.js';

export type StateKind = 'param' | 'buffer' | 'optimizer';

export interface StateSpec {
  name: string;
  kind: StateKind;
  dtype: DType;
  shape: readonly number[];
  /** Graph output carrying the new value; undefined for state the graph does not update. */
  updatedOutput?: string;
  initial: TensorData;
}

interface Slot {
  spec: StateSpec;
  data: [TensorData, TensorData];
  tensors: [ort.Tensor, ort.Tensor];
}

export class TrainingState {
  private readonly slots: Slot[];
  private readonly byName = new Map<string, Slot>();
  private cur: 0 | 1 = 0;

  constructor(specs: readonly StateSpec[]) {
    this.slots = specs.map((spec) => {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (spec.initial.length !== n)
        throw new EngineError('shape_mismatch', `state '${spec.name}': ${spec.initial.length} initial values for [${spec.shape.join(', ')}]`);
      const a = allocData(spec.dtype, n);
      a.set(spec.initial as never);
      // State the graph never rewrites needs no second buffer: both sides share one array.
      const b = spec.updatedOutput ? allocData(spec.dtype, n) : a;
      const dims = [...spec.shape];
      const slot: Slot = { spec, data: [a, b], tensors: [new ort.Tensor(spec.dtype, a, dims), new ort.Tensor(spec.dtype, b, dims)] };
      this.byName.set(spec.name, slot);
      return slot;
    });
  }

  specs(): StateSpec[] {
    return this.slots.map((s) => s.spec);
  }

  /** Adds the current values to `feeds` and the next buffers, as preallocated outputs, to `fetches`. */
  bind(feeds: Record<string, ort.Tensor>, fetches: Record<string, ort.Tensor | null>): void {
    const nxt = this.cur ^ 1;
    for (const s of this.slots) {
      feeds[s.spec.name] = s.tensors[this.cur];
      if (s.spec.updatedOutput) fetches[s.spec.updatedOutput] = s.tensors[nxt] as ort.Tensor;
    }
  }

  /** Makes the values just written the current ones (call after a successful run). */
  swap(): void {
    this.cur = this.cur === 0 ? 1 : 0;
  }

  /** The current value of `name` (a live view: valid until the next step). */
  get(name: string): TensorData {
    const s = this.byName.get(name);
    if (!s) throw new EngineError('unknown_tensor', `no training state named '${name}'`);
    return s.data[this.cur];
  }

  /** Current values, optionally only of some kinds, as live views (encode or copy them before the next step). */
  snapshot(kinds?: readonly StateKind[]): Map<string, StoredTensor> {
    const out = new Map<string, StoredTensor>();
    for (const s of this.slots) {
      if (kinds && !kinds.includes(s.spec.kind)) continue;
      out.set(s.spec.name, { dtype: s.spec.dtype, shape: [...s.spec.shape], data: s.data[this.cur] });
    }
    return out;
  }

  /**
   * Copies `values` into the current buffers. With `require`, every state of those kinds must be present; names
   * that are not state, or whose shape or dtype differ, are always errors (a silently ignored tensor would be a
   * checkpoint from another model).
   */
  load(values: ReadonlyMap<string, StoredTensor>, require: readonly StateKind[] = []): void {
    const problems: string[] = [];
    for (const [name, t] of values) {
      const s = this.byName.get(name);
      if (!s) {
        problems.push(`unexpected tensor '${name}'`);
        continue;
      }
      const want = s.spec;
      if (t.dtype !== want.dtype || t.shape.length !== want.shape.length || t.shape.some((d, i) => d !== want.shape[i])) {
        problems.push(`'${name}' is ${t.dtype}[${t.shape.join(', ')}], expected ${want.dtype}[${want.shape.join(', ')}]`);
      }
    }
    for (const s of this.slots) {
      if (require.includes(s.spec.kind) && !values.has(s.spec.name)) problems.push(`missing ${s.spec.kind} '${s.spec.name}'`);
    }
    if (problems.length > 0) {
      const shown = problems.slice(0, 8).join('; ') + (problems.length > 8 ? `; … ${problems.length - 8} more` : '');
      throw new EngineError('shape_mismatch', `state does not match this model: ${shown}`, { problems });
    }
    for (const [name, t] of values) (this.byName.get(name) as Slot).data[this.cur].set(t.data as never);
  }
}
