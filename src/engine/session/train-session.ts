// TrainSession: one ONNX Runtime session runs a whole training step (forward, backward, clipping, optimizer
// update). Per step it feeds the batch, the current parameters/buffers/optimizer state (preallocated, see
// state.ts), the optimizer's scalars and the dropout noise, and ORT writes the new state into the other half of
// each double buffer.
//
// What is allocated per step, and why: JS allocates only the small feed wrappers of the batch (ort.Tensor objects
// around the caller's arrays, no data copy). onnxruntime-node 1.30 does honour preallocated outputs — the new
// state is written directly into our buffers — but its binding still returns every fetched output as a freshly
// allocated copy (measured: the returned arrays do not alias the preallocated ones), so each step the binding
// allocates and copies ≈ (params + buffers + optimizer state) bytes in native code that we immediately drop.
// Its Node API has no IO binding to avoid that; the copy is a memcpy of a few MB, well under 1% of a step.

import ort from 'onnxruntime-node';

import { type Checkpoint, loadCheckpoint, saveCheckpoint } from '../checkpoint/checkpoint.js';
import type { StoredTensor } from '../checkpoint/safetensors.js';
import { EngineError } from '../errors.js';
import { constantLr, type LrSchedule } from '../optim/schedule.js';
import { createOrtSession, type ExecutionOptions } from './execution.js';
import { type Batch, bindBatch, type ModelBuilder, resolveShape } from './model.js';
import { SessionRng } from './rng.js';
import { type StateKind, TrainingState } from './state.js';
import { buildTrainGraph, OUTPUT, type TrainGraph, type TrainGraphOptions } from './train-graph.js';

export interface TrainSessionOptions extends TrainGraphOptions {
  /** Learning rate per step: a schedule or a constant (default 1e-3). */
  lr?: LrSchedule | number;
  execution?: ExecutionOptions;
  /** Values that replace the initial ones (e.g. pretrained weights): any subset of params and buffers. */
  initialState?: ReadonlyMap<string, StoredTensor>;
}

export interface StepResult {
  /** 0-based index of the step just taken. */
  step: number;
  lr: number;
  loss: number;
  logits: Float32Array | Float64Array;
  logitsShape: number[];
  /** Global gradient norm before clipping (when clipping is on). */
  gradNorm?: number;
}

export class TrainSession {
  private stepsDone = 0;
  private readonly scalarTensors = new Map<string, ort.Tensor>();
  private readonly noiseBuffers = new Map<string, Uint8Array>();
  private running = false;

  private constructor(
    readonly graph: TrainGraph,
    private readonly session: ort.InferenceSession,
    private readonly state: TrainingState,
    private readonly schedule: LrSchedule,
    private readonly rng: SessionRng,
    private readonly opts: TrainSessionOptions,
  ) {
    for (const t of graph.scalarInputs) {
      const data = t.dtype === 'float64' ? new Float64Array(1) : new Float32Array(1);
      this.scalarTensors.set(t.name, new ort.Tensor(t.dtype, data, []));
    }
  }

  static async create(build: ModelBuilder, opts: TrainSessionOptions): Promise<TrainSession> {
    const tg = buildTrainGraph(build, opts);
    const state = new TrainingState(tg.state);
    if (opts.initialState) state.load(opts.initialState);
    const session = await createOrtSession(tg.model, 'training graph', opts.execution);
    const lr = opts.lr ?? 1e-3;
    const schedule = typeof lr === 'number' ? constantLr(lr) : lr;
    return new TrainSession(tg, session, state, schedule, new SessionRng(opts.seed ?? 0), opts);
  }

  /** Optimizer steps taken so far. */
  get steps(): number {
    return this.stepsDone;
  }

  /** Names of the inputs a batch must provide. */
  get batchInputs(): string[] {
    return this.graph.batchInputs.map((t) => t.name);
  }

  /** One training step on `batch`. Steps must not overlap (await each). */
  async step(batch: Batch): Promise<StepResult> {
    if (this.running) throw new EngineError('invalid_argument', 'TrainSession.step called while another step is running; await each step');
    this.running = true;
    try {
      const feeds: Record<string, ort.Tensor> = {};
      const dims = bindBatch(this.graph.batchInputs, batch, feeds);
      const step = this.stepsDone;
      const lr = this.schedule(step);
      for (const [name, value] of Object.entries(this.opts.optimizer.scalars(step, lr))) {
        const t = this.scalarTensors.get(name);
        if (!t) throw new EngineError('invalid_argument', `optimizer '${this.opts.optimizer.name}' produced an unknown scalar '${name}'`);
        (t.data as Float32Array | Float64Array)[0] = value;
        feeds[name] = t;
      }
      for (const t of this.graph.noiseInputs) feeds[t.name] = this.noise(t.name, resolveShape(t, dims));
      const fetches: Record<string, ort.Tensor | null> = { [OUTPUT.loss]: null, [OUTPUT.logits]: null };
      if (this.graph.hasGradNorm) fetches[OUTPUT.gradNorm] = null;
      this.state.bind(feeds, fetches);

      const out = await this.session.run(feeds, fetches);
      this.state.swap();
      this.stepsDone++;
      const logits = out[OUTPUT.logits] as ort.Tensor;
      const result: StepResult = {
        step,
        lr,
        loss: Number((out[OUTPUT.loss] as ort.Tensor).data[0]),
        logits: logits.data as Float32Array | Float64Array,
        logitsShape: [...logits.dims],
      };
      if (this.graph.hasGradNorm) result.gradNorm = Number((out[OUTPUT.gradNorm] as ort.Tensor).data[0]);
      return result;
    } finally {
      this.running = false;
    }
  }

  /** Fresh random bytes for a noise input, in a buffer reused across steps of the same batch size. */
  private noise(name: string, shape: number[]): ort.Tensor {
    const key = `${name}|${shape.join(',')}`;
    const n = shape.reduce((a, b) => a * b, 1);
    let buf = this.noiseBuffers.get(key);
    if (!buf) {
      buf = new Uint8Array(n);
      this.noiseBuffers.set(key, buf);
    }
    this.rng.fillBytes(buf);
    return new ort.Tensor('uint8', buf, shape);
  }

  /** Current values (live views, valid until the next step) of the chosen kinds of state (default: all). */
  stateTensors(kinds?: readonly StateKind[]): Map<string, StoredTensor> {
    return this.state.snapshot(kinds);
  }

  /** Replaces parameters/buffers (any subset) — e.g. to start from pretrained weights. */
  loadWeights(values: ReadonlyMap<string, StoredTensor>): void {
    this.state.load(values);
  }

  /** Everything needed to continue this run exactly: all state tensors, step, RNG, optimizer, `config`. */
  checkpoint(config?: unknown): Checkpoint {
    const tensors = new Map<string, StoredTensor>();
    for (const [name, t] of this.state.snapshot()) tensors.set(name, { ...t, data: t.data.slice() });
    return {
      tensors,
      step: this.stepsDone,
      rng: this.rng.getState(),
      optimizer: { name: this.opts.optimizer.name, config: this.opts.optimizer.config },
      config,
    };
  }

  /** Writes `checkpoint(config)` atomically to `path`. */
  async saveCheckpoint(path: string, config?: unknown): Promise<void> {
    // Encoding copies the live buffers synchronously, before any await, so a later step cannot tear the file.
    await saveCheckpoint(path, this.checkpoint(config));
  }

  /** Restores a checkpoint of this model and optimizer: all state, the step counter and the RNG. */
  async restore(source: string | Checkpoint): Promise<void> {
    const ck = typeof source === 'string' ? await loadCheckpoint(source) : source;
    const opt = this.opts.optimizer;
    if (ck.optimizer && ck.optimizer.name !== opt.name) {
      throw new EngineError('invalid_argument', `the checkpoint was trained with optimizer '${ck.optimizer.name}', this session uses '${opt.name}'`);
    }
    this.state.load(ck.tensors, ['param', 'buffer', 'optimizer']);
    this.stepsDone = ck.step;
    if (ck.rng !== undefined) this.rng.setState(ck.rng);
  }

  /** Writes ORT's profile (when execution.enableProfiling) and frees the native session. */
  async release(): Promise<void> {
    if (this.opts.execution?.enableProfiling) this.session.endProfiling();
    await this.session.release();
  }
}
