// Softmax cross-entropy. Without label smoothing it is ONNX's SoftmaxCrossEntropyLoss (one kernel; its
// log_prob output is reused by the gradient rule). ONNX's op has no label smoothing, so with smoothing the
// loss is the soft-target loss (a composite of LogSoftmax, the target and reductions, differentiated through the
// rules of those primitives) of a one-hot target; mixup and cutmix feed that loss their mixed targets directly.
// Both follow PyTorch's cross_entropy(weight, label_smoothing, reduction) semantics.
import { EngineError } from '../errors.js';
import type { Graph, TensorRef } from '../graph.js';
import { ONNX_DTYPE } from '../onnx/dtype.js';
import { registerShape } from './registry.js';

registerShape('SoftmaxCrossEntropyLoss', (ctx) => {
  const [x, labels, w] = [ctx.input(0), ctx.input(1), ctx.optional(2)];
  if (x.shape.length < 2) throw ctx.error('scores must be [N, C, …]');
  if (labels.dtype !== 'int64' && labels.dtype !== 'int32') throw ctx.error('labels must be int64 or int32');
  const expected = [x.shape[0], ...x.shape.slice(2)];
  if (labels.shape.length !== expected.length || labels.shape.some((d, i) => typeof d === 'number' && typeof expected[i] === 'number' && d !== expected[i])) {
    throw ctx.error(`labels must be [${expected.join(', ')}]`);
  }
  if (w && (w.shape.length !== 1 || w.shape[0] !== x.shape[1])) throw ctx.error(`weights must be [${x.shape[1]}]`);
  const reduction = ctx.string('reduction', 'mean');
  return [
    { dtype: x.dtype, shape: reduction === 'none' ? [...labels.shape] : [] },
    { dtype: x.dtype, shape: [...x.shape] },
  ];
});

export interface CrossEntropyOptions {
  /** Per-class weights [C], same dtype as the logits. */
  weights?: TensorRef;
  /** PyTorch's label_smoothing ε: the target is (1 − ε)·onehot + ε/C. */
  labelSmoothing?: number;
  reduction?: 'mean' | 'sum' | 'none';
}

/** Cross-entropy of logits [N, C] (or [N, C, d…] without smoothing) against int64 labels [N] (or [N, d…]). */
export function softmaxCrossEntropy(g: Graph, logits: TensorRef, labels: TensorRef, opts: CrossEntropyOptions = {}): TensorRef {
  const eps = opts.labelSmoothing ?? 0;
  const reduction = opts.reduction ?? 'mean';
  if (!(eps >= 0 && eps <= 1)) throw new EngineError('invalid_argument', `labelSmoothing must be in [0, 1], got ${eps}`);
  if (eps === 0) {
    const [loss] = g.node('SoftmaxCrossEntropyLoss', [logits, labels, opts.weights], { reduction }, 2);
    return loss as TensorRef;
  }
  const c = classDim(logits, 'label smoothing');
  const classes = g.constant(
    Array.from({ length: c }, (_, i) => i),
    [1, c],
    'int64',
  );
  const labels64 = labels.dtype === 'int64' ? labels : g.op('Cast', [labels], { to: ONNX_DTYPE.int64 });
  const onehot = g.op('Cast', [g.op('Equal', [g.op('Unsqueeze', [labels64, g.ints([1])]), classes])], { to: ONNX_DTYPE[logits.dtype] });
  return softTargetCrossEntropy(g, logits, onehot, opts);
}

/**
 * Cross-entropy of logits [N, C] against class probabilities [N, C] (mixup / cutmix targets: each row sums to 1),
 * PyTorch's cross_entropy(logits, probs, label_smoothing=ε): the target is smoothed to (1 − ε)·t + ε/C. With
 * class weights w the loss is Σᵢ Σ_c w_c·t'ᵢc·(−log pᵢc) / Σᵢ Σ_c w_c·tᵢc — for one-hot rows exactly the weighted
 * mean of the integer-label loss above (PyTorch divides by N instead when targets are probabilities); without
 * weights both are the mean over N.
 */
export function softTargetCrossEntropy(g: Graph, logits: TensorRef, targets: TensorRef, opts: CrossEntropyOptions = {}): TensorRef {
  const eps = opts.labelSmoothing ?? 0;
  const reduction = opts.reduction ?? 'mean';
  if (!(eps >= 0 && eps <= 1)) throw new EngineError('invalid_argument', `labelSmoothing must be in [0, 1], got ${eps}`);
  const c = classDim(logits, 'a soft-target loss');
  if (targets.shape.length !== 2 || targets.shape[1] !== c || targets.dtype !== logits.dtype) {
    throw new EngineError('shape_mismatch', `soft targets must be ${logits.dtype} [N, ${c}], got ${targets.dtype} [${targets.shape.join(', ')}]`);
  }
  const logp = g.op('LogSoftmax', [logits], { axis: 1 });
  // Target weights T[i, c] = w_c·((1 − ε)·t[i, c] + ε/C) (w ≡ 1 without class weights).
  const wt = opts.weights ? g.op('Mul', [targets, opts.weights]) : targets;
  const smooth = opts.weights ? g.op('Mul', [opts.weights, g.scalar(eps / c, logits)]) : g.scalar(eps / c, logits);
  const target = eps === 0 ? wt : g.op('Add', [g.op('Mul', [wt, g.scalar(1 - eps, logits)]), smooth]);
  const perSample = g.op('Neg', [g.op('ReduceSum', [g.op('Mul', [target, logp]), g.ints([1])], { keepdims: 0 })]);
  if (reduction === 'none') return perSample;
  const total = g.op('ReduceSum', [perSample], { keepdims: 0 });
  if (reduction === 'sum') return total;
  // mean: normalized by Σ w·t (PyTorch's Σ w_y for one-hot rows), which is N without class weights.
  return g.op('Div', [total, g.op('ReduceSum', [wt], { keepdims: 0 })]);
}

function classDim(logits: TensorRef, what: string): number {
  if (logits.shape.length !== 2) throw new EngineError('invalid_argument', `${what} needs logits [N, C], got rank ${logits.shape.length}`);
  const c = logits.shape[1];
  if (typeof c !== 'number') throw new EngineError('invalid_argument', 'the class dim must be static');
  return c;
}

/**
 * Elementwise binary cross-entropy of logits x against targets t in [0, 1] (PyTorch's
 * binary_cross_entropy_with_logits, reduction 'none'), in the overflow-free form max(x, 0) − x·t + log(1 + e^−|x|).
 * A composite whose rule is the closed form dx = σ(x) − t (one Sigmoid instead of differentiating five nodes).
 */
export function sigmoidBinaryCrossEntropy(g: Graph, x: TensorRef, t: TensorRef): TensorRef {
  const [y] = g.composite('SigmoidBinaryCrossEntropy', [x, t], {}, () => {
    const softplusNegAbs = g.op('Log', [g.op('Add', [g.op('Exp', [g.op('Neg', [g.op('Abs', [x])])]), g.scalar(1, x)])]);
    return { outputs: [g.op('Add', [g.op('Sub', [g.op('Relu', [x]), g.op('Mul', [x, t])]), softplusNegAbs])] };
  });
  return y as TensorRef;
}
