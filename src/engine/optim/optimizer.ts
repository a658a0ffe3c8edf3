// The optimizer contract: an optimizer appends its update rule to the training graph as ordinary ONNX ops, so
// forward, backward and update run as one ONNX Runtime session. Its state (momentum, Adam moments) lives in graph
// inputs and comes back as `<state>.updated` outputs; per-step numbers (learning rate, bias corrections) are scalar
// graph inputs computed in float64 in JS each step, so schedules never change the graph.
import { EngineError } from '../errors.js';
import type { DType, Graph, TensorRef } from '../graph.js';
import { concat, reshape, reshapeLike, split } from '../ops/shape.js';

export interface ParamGrad {
  param: TensorRef;
  grad: TensorRef;
}

/** One optimizer state tensor: a graph input (zeros at step 0) and its new value. */
export interface StateSlot {
  /** The graph input; its name is the checkpoint key, e.g. `adamw.m.blocks.0.attn.qkv.weight`. */
  input: TensorRef;
  updated: TensorRef;
  /** The parameter this slot belongs to. */
  param: string;
}

export interface OptimizerUpdate {
  /** Parameter name → its value after the step. */
  params: Map<string, TensorRef>;
  state: StateSlot[];
  /** Names of the scalar graph inputs that `scalars()` fills. */
  scalarInputs: string[];
}

export interface Optimizer {
  readonly name: string;
  /** Hyper-parameters (recorded in checkpoints and run metadata). */
  readonly config: Readonly<Record<string, number | boolean | string>>;
  /**
   * Appends the update of every (param, grad) pair to `g`. `gradScale`, when given, is a scalar every gradient is
   * multiplied by first (global-norm clipping); optimizers fold it into their scalar factors where they can.
   */
  build(g: Graph, pairs: readonly ParamGrad[], opts?: { gradScale?: TensorRef }): OptimizerUpdate;
  /** Values of the scalar inputs for the 0-based step `step` taken with learning rate `lr`. */
  scalars(step: number, lr: number): Record<string, number>;
}

/** Which parameters get weight decay. Default (timm's convention): weights of rank >= 2, not biases or norms. */
export type DecayFilter = (name: string, shape: readonly number[]) => boolean;

export const decayMatricesOnly: DecayFilter = (_name, shape) => shape.length >= 2;

/** The dtype all parameters share (scalars are fed in it); mixed float32/float64 models are refused. */
export function commonDtype(pairs: readonly ParamGrad[], who: string): DType {
  const d = pairs[0]?.param.dtype ?? 'float32';
  for (const { param, grad } of pairs) {
    if (param.dtype !== d || grad.dtype !== d) {
      throw new EngineError('invalid_argument', `${who}: every parameter and gradient must share one dtype (${param.name} is ${param.dtype}, ${d} expected)`);
    }
  }
  return d;
}

/**
 * Parameters that share an update rule (same learning-rate factor, same decay), laid end to end: the optimizer's
 * elementwise arithmetic then runs as a dozen nodes over one flat vector per bucket instead of a dozen per
 * parameter. A detector has ~180 parameter tensors, most of them small (BatchNorm scales, biases), and ONNX Runtime
 * spends tens of microseconds per node whatever its size: per-parameter updates cost det-nano's step 7% of its time
 * (docs/engine.md, "Performance choices"). The arithmetic per element is unchanged, so results are identical.
 */
export interface FlatBucket {
  pairs: ParamGrad[];
  /** Concatenates per-parameter tensors (one per pair, in order, each shaped like its parameter) into one vector. */
  flat(ts: readonly TensorRef[]): TensorRef;
  /** Splits a flat vector back into per-parameter tensors with the parameters' shapes. */
  unflat(t: TensorRef): TensorRef[];
}

export function flatBuckets(g: Graph, pairs: readonly ParamGrad[], keyOf: (pair: ParamGrad) => string): FlatBucket[] {
  const byKey = new Map<string, ParamGrad[]>();
  for (const pair of pairs) {
    const key = keyOf(pair);
    const list = byKey.get(key);
    if (list) list.push(pair);
    else byKey.set(key, [pair]);
  }
  // 1-D tensors (biases, BatchNorm scales: half of a detector's) skip the Reshape nodes: each is one more ORT node per step.
  const flatten = (t: TensorRef): TensorRef => (t.shape.length === 1 ? t : reshape(g, t, [-1]));
  return [...byKey.values()].map((members) => {
    const sizes = members.map((p) => p.param.shape.reduce((a: number, d) => a * Number(d), 1));
    return {
      pairs: members,
      flat: (ts) => concat(g, ts.map(flatten), 0),
      unflat: (t) => (members.length === 1 ? [t] : split(g, t, sizes, 0)).map((part, i) => reshapeLike(g, part, (members[i] as ParamGrad).param)),
    };
  });
}
