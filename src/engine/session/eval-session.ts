// EvalSession: the eval-mode graph of the same model builder (BatchNorm on running statistics, no dropout), with
// parameters and buffers as inputs so it always evaluates the weights it is given — a TrainSession's current state
// (evaluation during training, no copy) or a fixed set of tensors (a checkpoint).
import ort from 'onnxruntime-node';

import type { StoredTensor } from '../checkpoint/safetensors.js';
import { EngineError } from '../errors.js';
import { Graph, type TensorRef } from '../graph.js';
import { serialize } from '../onnx/serialize.js';
import { createOrtSession, type ExecutionOptions } from './execution.js';
import { type Batch, bindBatch, type ModelBuilder } from './model.js';
import { OUTPUT } from './train-graph.js';

/** Where eval weights come from: a fixed map, or a function read at every run (a live TrainSession). */
export type StateSource = ReadonlyMap<string, StoredTensor> | (() => ReadonlyMap<string, StoredTensor>);

export interface EvalSessionOptions {
  state: StateSource;
  execution?: ExecutionOptions;
  name?: string;
  /** Must match the training graph's seed only for parameters absent from `state` (normally none). */
  seed?: number;
  opset?: number;
}

export interface EvalResult {
  logits: Float32Array | Float64Array;
  logitsShape: number[];
  /** Present when the model builds a loss in eval mode (e.g. it takes labels). */
  loss?: number;
}

export class EvalSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly batchInputs: TensorRef[],
    private readonly stateNames: { name: string; dtype: TensorRef['dtype']; shape: number[] }[],
    private readonly source: StateSource,
    private readonly hasLoss: boolean,
  ) {}

  static async create(build: ModelBuilder, opts: EvalSessionOptions): Promise<EvalSession> {
    const g = new Graph(opts.name ?? 'eval', { mode: 'eval', seed: opts.seed ?? 0, opset: opts.opset });
    const { logits, loss } = build(g);
    g.output(logits, OUTPUT.logits);
    if (loss) g.output(loss, OUTPUT.loss);
    const model = serialize(g, { stateAsInputs: true });
    const session = await createOrtSession(model, 'evaluation graph', opts.execution);
    const names = g.state().map((p) => ({ name: p.name, dtype: p.dtype, shape: [...p.shape] }));
    return new EvalSession(session, [...g.inputs()], names, opts.state, loss !== undefined);
  }

  async run(batch: Batch): Promise<EvalResult> {
    const feeds: Record<string, ort.Tensor> = {};
    bindBatch(this.batchInputs, batch, feeds);
    const state = typeof this.source === 'function' ? this.source() : this.source;
    for (const s of this.stateNames) {
      const t = state.get(s.name);
      if (!t) throw new EngineError('unknown_tensor', `eval state lacks '${s.name}'`);
      if (t.dtype !== s.dtype || t.data.length !== s.shape.reduce((a, b) => a * b, 1)) {
        throw new EngineError('shape_mismatch', `eval state '${s.name}' is ${t.dtype}[${t.shape.join(', ')}], expected ${s.dtype}[${s.shape.join(', ')}]`);
      }
      feeds[s.name] = new ort.Tensor(s.dtype, t.data, s.shape);
    }
    const fetches: Record<string, null> = { [OUTPUT.logits]: null };
    if (this.hasLoss) fetches[OUTPUT.loss] = null;
    const out = await this.session.run(feeds, fetches);
    const logits = out[OUTPUT.logits] as ort.Tensor;
    const result: EvalResult = { logits: logits.data as Float32Array | Float64Array, logitsShape: [...logits.dims] };
    if (this.hasLoss) result.loss = Number((out[OUTPUT.loss] as ort.Tensor).data[0]);
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
