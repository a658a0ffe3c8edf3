// The training graph: the model's forward pass, its reverse-mode gradients, optional global-norm clipping and the
// optimizer update, in one ONNX model. Every parameter, buffer and optimizer slot is a graph input with a matching
// output carrying its new value, so one ORT run is one complete training step. Those outputs keep the name of the
// node that computes them: renaming through an Identity node would make ONNX Runtime copy every parameter-sized
// tensor once more per step.
import { gradients } from '../autodiff/gradients.js';
import { EngineError } from '../errors.js';
import { Graph, type TensorRef } from '../graph.js';
import { allocData } from '../onnx/dtype.js';
import { serialize } from '../onnx/serialize.js';
import { clipScale, globalGradNorm } from '../optim/clip.js';
import type { Optimizer } from '../optim/optimizer.js';
import { noiseInputs } from './fed-dropout.js';
import type { ModelBuilder } from './model.js';
import type { StateSpec } from './state.js';

export interface TrainGraphOptions {
  optimizer: Optimizer;
  /** Clip gradients to this global L2 norm (torch.nn.utils.clip_grad_norm_); off when undefined. */
  clipGradNorm?: number;
  /** Graph name (default 'train'). */
  name?: string;
  /** Parameter-initialization seed (default 0). */
  seed?: number;
  /** ONNX opset (default 17). */
  opset?: number;
}

export const OUTPUT = { loss: 'loss', logits: 'logits', gradNorm: 'grad_norm' } as const;

export interface TrainGraph {
  graph: Graph;
  /** Serialized ONNX model. */
  model: Uint8Array;
  /** Inputs the caller feeds each step (images, labels, …). */
  batchInputs: TensorRef[];
  /** uint8 dropout-noise inputs the session fills from its RNG. */
  noiseInputs: TensorRef[];
  /** Optimizer scalar inputs (learning rate, bias corrections). */
  scalarInputs: TensorRef[];
  /** Parameters, buffers and optimizer slots with their initial values and `.updated` outputs. */
  state: StateSpec[];
  hasGradNorm: boolean;
}

export function buildTrainGraph(build: ModelBuilder, opts: TrainGraphOptions): TrainGraph {
  const g = new Graph(opts.name ?? 'train', { mode: 'train', seed: opts.seed ?? 0, opset: opts.opset });
  const { loss, logits } = build(g);
  if (!loss) throw new EngineError('invalid_argument', 'the model builder returned no loss in train mode');
  if (loss.shape.length !== 0) throw new EngineError('shape_mismatch', `the loss must be a scalar, got [${loss.shape.join(', ')}]`);
  const params = g.params();
  if (params.length === 0) throw new EngineError('invalid_argument', 'the model has no parameters to train');

  const refs = params.map((p) => g.tensor(p.name));
  const grads = gradients(g, loss, refs);
  const pairs = refs.map((param) => ({ param, grad: grads.get(param.name) as TensorRef }));

  let gradScale: TensorRef | undefined;
  if (opts.clipGradNorm !== undefined) {
    const clip = opts.clipGradNorm;
    const norm = g.scope('clip', () =>
      globalGradNorm(
        g,
        pairs.map((p) => p.grad),
      ),
    );
    g.output(norm, OUTPUT.gradNorm);
    gradScale = g.scope('clip', () => clipScale(g, norm, clip));
  }
  // Scoped so the update's nodes are named optim.* (attributable in ORT profiles; autodiff's are grad.*).
  const update = g.scope('optim', () => opts.optimizer.build(g, pairs, { gradScale }));

  g.output(loss, OUTPUT.loss);
  g.output(logits, OUTPUT.logits);
  const state: StateSpec[] = [];
  for (const p of params) {
    const out = g.output(update.params.get(p.name) as TensorRef);
    state.push({ name: p.name, kind: 'param', dtype: p.dtype, shape: p.shape, updatedOutput: out.name, initial: p.values() });
  }
  const bufferOut = new Map(g.bufferUpdates().map((u) => [u.buffer, u.value.name]));
  for (const b of g.buffers()) {
    state.push({ name: b.name, kind: 'buffer', dtype: b.dtype, shape: b.shape, updatedOutput: bufferOut.get(b.name), initial: b.values() });
  }
  for (const slot of update.state) {
    const out = g.output(slot.updated);
    const shape = slot.input.shape.map(Number);
    state.push({
      name: slot.input.name,
      kind: 'optimizer',
      dtype: slot.input.dtype,
      shape,
      updatedOutput: out.name,
      initial: allocData(
        slot.input.dtype,
        shape.reduce((a, b) => a * b, 1),
      ),
    });
  }

  const noise = noiseInputs(g);
  const special = new Set([...update.scalarInputs, ...update.state.map((s) => s.input.name), ...noise.map((t) => t.name)]);
  return {
    graph: g,
    model: serialize(g, { stateAsInputs: true }),
    batchInputs: g.inputs().filter((t) => !special.has(t.name)),
    noiseInputs: [...noise],
    scalarInputs: update.scalarInputs.map((n) => g.tensor(n)),
    state,
    hasGradNorm: gradScale !== undefined,
  };
}
