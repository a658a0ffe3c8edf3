// Normalization: BatchNormalization (train: batch statistics + running-stat updates; eval: one node) and
// LayerNormalization (opset 17 op; Mean and InvStdDev outputs are kept in train mode for the gradient).
import type { Dim, Graph, TensorRef } from '../graph.js';
import { ONNX_DTYPE } from '../onnx/dtype.js';
import { reduce } from './reduce.js';
import { registerShape } from './registry.js';
import { normAxis } from './shape-util.js';

registerShape('BatchNormalization', (ctx) => {
  const x = ctx.input(0);
  if (x.shape.length < 2) throw ctx.error('X must be [N, C, …]');
  const c = x.shape[1];
  for (let i = 1; i <= 4; i++) {
    const t = ctx.input(i);
    if (t.shape.length !== 1 || (typeof c === 'number' && t.shape[0] !== c)) throw ctx.error(`input ${i} must be [${c}]`);
  }
  const stat = { dtype: ctx.input(3).dtype, shape: [c as Dim] };
  return [{ dtype: x.dtype, shape: [...x.shape] }, stat, stat];
});

registerShape('LayerNormalization', (ctx) => {
  const x = ctx.input(0);
  const axis = normAxis('LayerNormalization', ctx.int('axis', -1), x.shape.length);
  const normalized = x.shape.slice(axis);
  const scale = ctx.input(1);
  if (scale.shape.length > normalized.length || scale.shape.some((d, i) => d !== 1 && d !== normalized[normalized.length - scale.shape.length + i])) {
    throw ctx.error(`Scale must broadcast to the normalized dims [${normalized.join(', ')}]`);
  }
  // Mean and InvStdDev are in the stash type (float32 by default, also for float64 inputs).
  const stash = ctx.int('stash_type', 1);
  const stat = { dtype: stash === 1 ? ('float32' as const) : x.dtype, shape: x.shape.map((d, i) => (i < axis ? d : 1)) };
  return [{ dtype: x.dtype, shape: [...x.shape] }, stat, stat];
});

export interface BatchNormState {
  scale: TensorRef;
  bias: TensorRef;
  runningMean: TensorRef;
  runningVar: TensorRef;
}

/**
 * Batch normalization over [N, C, …]. `momentum` follows PyTorch: the weight of the new batch statistic
 * (running = (1 − momentum)·running + momentum·batch), and the running variance is updated with the
 * unbiased batch variance, as PyTorch does. Train mode is a composite (ONNX Runtime's CPU kernel has no
 * training mode in inference builds): mean, centered x and 1/σ are saved for the gradient rule.
 */
export function batchNorm(g: Graph, x: TensorRef, s: BatchNormState, opts: { eps?: number; momentum?: number } = {}): TensorRef {
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  if (g.mode === 'eval') return g.op('BatchNormalization', [x, s.scale, s.bias, s.runningMean, s.runningVar], { epsilon: eps });
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bcast = x.shape.map((_, i) => (i === 1 ? -1 : 1));
  const [y] = g.composite('BatchNormalizationTraining', [x, s.scale, s.bias], { epsilon: eps }, () => {
    const mean = reduce(g, 'ReduceMean', x, axes, true);
    const xc = g.op('Sub', [x, mean]);
    const variance = reduce(g, 'ReduceMean', g.op('Mul', [xc, xc]), axes, true);
    const invstd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.scalar(eps, x)])])]);
    const k = g.op('Mul', [invstd, g.op('Reshape', [s.scale, g.ints(bcast)])]);
    const y = g.op('Add', [g.op('Mul', [xc, k]), g.op('Reshape', [s.bias, g.ints(bcast)])]);
    const n = elementsPerChannel(g, x);
    const flatC = [x.shape[1] as number];
    const unbiased = g.op('Mul', [g.op('Reshape', [variance, g.ints(flatC)]), g.op('Div', [n, g.op('Sub', [n, g.scalar(1, x)])])]);
    const blend = (running: TensorRef, batch: TensorRef): TensorRef =>
      g.op('Add', [g.op('Mul', [running, g.scalar(1 - momentum, x)]), g.op('Mul', [batch, g.scalar(momentum, x)])]);
    g.updateBuffer(s.runningMean, blend(s.runningMean, g.op('Reshape', [mean, g.ints(flatC)])));
    g.updateBuffer(s.runningVar, blend(s.runningVar, unbiased));
    return { outputs: [y], saved: { xc, invstd, n } };
  });
  return y as TensorRef;
}

/** N·H·W… as a float scalar: a constant when the shape is static, else computed from Shape at run time. */
export function elementsPerChannel(g: Graph, x: TensorRef): TensorRef {
  const dims = x.shape.filter((_, i) => i !== 1);
  if (dims.every((d) => typeof d === 'number'))
    return g.scalar(
      (dims as number[]).reduce((a, b) => a * b, 1),
      x,
    );
  const size = g.op('Cast', [g.op('Size', [x])], { to: ONNX_DTYPE[x.dtype] });
  return g.op('Div', [size, g.scalar(x.shape[1] as number, x)]);
}

/** Layer normalization over the dims from `axis` on (default: the last). */
export function layerNorm(g: Graph, x: TensorRef, scale: TensorRef, bias?: TensorRef, opts: { axis?: number; eps?: number } = {}): TensorRef {
  const attrs = { axis: opts.axis ?? -1, epsilon: opts.eps ?? 1e-5 };
  const [y] = g.node('LayerNormalization', [x, scale, bias], attrs, g.mode === 'train' ? 3 : 1);
  return y as TensorRef;
}
