// Activations: Relu, Gelu (exact, erf form), Sigmoid, SiLU, Tanh, Softmax, LogSoftmax, Dropout.
import { EngineError } from '../errors.js';
import type { Graph, TensorRef } from '../graph.js';
import { registerShape } from './registry.js';
import { normAxis } from './shape-util.js';

registerShape(['Softmax', 'LogSoftmax'], (ctx) => {
  const x = ctx.input(0);
  normAxis(ctx.opType, ctx.int('axis', -1), x.shape.length);
  return [{ dtype: x.dtype, shape: [...x.shape] }];
});
registerShape('Gelu', (ctx) => [{ dtype: ctx.input(0).dtype, shape: [...ctx.input(0).shape] }]);
registerShape('Dropout', (ctx) => {
  const x = ctx.input(0);
  return [
    { dtype: x.dtype, shape: [...x.shape] },
    { dtype: 'bool', shape: [...x.shape] },
  ];
});

export const relu = (g: Graph, x: TensorRef): TensorRef => g.op('Relu', [x]);
export const sigmoid = (g: Graph, x: TensorRef): TensorRef => g.op('Sigmoid', [x]);
/** SiLU (swish), x·σ(x): opset 17 has no op for it, so it is the two nodes PyTorch exports (ORT fuses them). */
export const silu = (g: Graph, x: TensorRef): TensorRef => g.op('Mul', [x, g.op('Sigmoid', [x])]);
export const tanh = (g: Graph, x: TensorRef): TensorRef => g.op('Tanh', [x]);

export function softmax(g: Graph, x: TensorRef, axis = -1): TensorRef {
  return g.op('Softmax', [x], { axis });
}

export function logSoftmax(g: Graph, x: TensorRef, axis = -1): TensorRef {
  return g.op('LogSoftmax', [x], { axis });
}

/**
 * Exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)). Opset >= 20 has a Gelu op; below that it is the composite
 * PyTorch exports (Div, Erf, Add, Mul, Mul), which ONNX Runtime fuses into one kernel at inference. The
 * composite saves e = 1 + erf(x/√2) for the gradient rule.
 */
export function gelu(g: Graph, x: TensorRef): TensorRef {
  if (g.opset >= 20) return g.op('Gelu', [x], { approximate: 'none' });
  const [y] = g.composite('Gelu', [x], {}, () => {
    const e = g.op('Add', [g.op('Erf', [g.op('Div', [x, g.scalar(Math.SQRT2, x)])]), g.scalar(1, x)]);
    const y = g.op('Mul', [g.op('Mul', [x, e]), g.scalar(0.5, x)]);
    return { outputs: [y], saved: { e } };
  });
  return y as TensorRef;
}

/**
 * Inverted dropout. Train mode: a Dropout node with training_mode = true and no seed attribute, so ONNX
 * Runtime draws a fresh mask on every run; the mask (output 1) is kept for the gradient. Eval mode, or
 * ratio 0: the identity, with no node added.
 */
export function dropout(g: Graph, x: TensorRef, ratio: number): TensorRef {
  if (!(ratio >= 0 && ratio < 1)) throw new EngineError('invalid_argument', `dropout ratio must be in [0, 1), got ${ratio}`);
  if (g.mode === 'eval' || ratio === 0) return x;
  const [y] = g.node('Dropout', [x, g.scalar(ratio, x), g.constant([1], [], 'bool')], {}, 2);
  return y as TensorRef;
}
