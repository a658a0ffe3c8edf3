// Elementwise ops: broadcasting binary arithmetic, comparisons, unary math, Where, Cast, Identity.
import type { DType, Graph, TensorRef } from '../graph.js';
import { dtypeFromOnnx, ONNX_DTYPE } from '../onnx/dtype.js';
import { type InferCtx, type OutputSpec, registerShape } from './registry.js';
import { broadcastShapes, describe } from './shape-util.js';

/** A tensor, or a number that becomes a scalar constant of the other operand's dtype. */
export type Operand = TensorRef | number;

function sameDtype(ctx: InferCtx, ts: readonly TensorRef[]): DType {
  const d = ts[0]?.dtype ?? 'float32';
  if (ts.some((t) => t.dtype !== d)) throw ctx.error(`operands must share one dtype, got ${ts.map(describe).join(' and ')}`);
  return d;
}

const broadcastSame = (ctx: InferCtx): OutputSpec[] => {
  const ts = ctx.inputs.filter((t): t is TensorRef => t !== undefined);
  return [{ dtype: sameDtype(ctx, ts), shape: broadcastShapes(ctx.opType, ts) }];
};

registerShape(['Add', 'Sub', 'Mul', 'Div', 'Sum', 'Max', 'Min', 'Mean', 'PRelu'], broadcastSame);
registerShape('Pow', (ctx) => [{ dtype: ctx.input(0).dtype, shape: broadcastShapes('Pow', [ctx.input(0), ctx.input(1)]) }]);
registerShape(['Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'And', 'Or', 'Xor'], (ctx) => {
  const ts = [ctx.input(0), ctx.input(1)];
  sameDtype(ctx, ts);
  return [{ dtype: 'bool', shape: broadcastShapes(ctx.opType, ts) }];
});
registerShape('Where', (ctx) => {
  const [c, x, y] = [ctx.input(0), ctx.input(1), ctx.input(2)];
  if (c.dtype !== 'bool') throw ctx.error('the condition must be bool');
  return [{ dtype: sameDtype(ctx, [x, y]), shape: broadcastShapes('Where', [c, x, y]) }];
});
registerShape(
  [
    'Identity',
    'Neg',
    'Abs',
    'Sqrt',
    'Exp',
    'Log',
    'Reciprocal',
    'Erf',
    'Relu',
    'Sigmoid',
    'Tanh',
    'Not',
    'Floor',
    'Ceil',
    'Sign',
    'LeakyRelu',
    'Softplus',
    'Sin',
    'Cos',
    'Atan',
    'Clip',
  ],
  (ctx) => {
    const x = ctx.input(0);
    return [{ dtype: x.dtype, shape: [...x.shape], value: ctx.opType === 'Identity' ? ctx.g.valueOf(x)?.slice() : undefined }];
  },
);
registerShape('Cast', (ctx) => {
  const to = ctx.int('to', -1);
  return [{ dtype: dtypeFromOnnx(to), shape: [...ctx.input(0).shape], value: ctx.g.valueOf(ctx.input(0))?.slice() }];
});

function operands(g: Graph, a: Operand, b: Operand): [TensorRef, TensorRef] {
  if (typeof a === 'number' && typeof b === 'number') return [g.scalar(a, 'float32'), g.scalar(b, 'float32')];
  if (typeof a === 'number') return [g.scalar(a, b as TensorRef), b as TensorRef];
  if (typeof b === 'number') return [a, g.scalar(b, a)];
  return [a, b];
}

const binary =
  (op: string) =>
  (g: Graph, a: Operand, b: Operand): TensorRef =>
    g.op(op, operands(g, a, b));

export const add = binary('Add');
export const sub = binary('Sub');
export const mul = binary('Mul');
export const div = binary('Div');
export const pow = binary('Pow');
export const equal = binary('Equal');
export const greater = binary('Greater');
export const less = binary('Less');

const unary =
  (op: string) =>
  (g: Graph, x: TensorRef): TensorRef =>
    g.op(op, [x]);

export const neg = unary('Neg');
export const abs = unary('Abs');
export const sqrt = unary('Sqrt');
export const exp = unary('Exp');
export const log = unary('Log');
export const reciprocal = unary('Reciprocal');
export const erf = unary('Erf');
export const identity = unary('Identity');
export const not = unary('Not');
export const atan = unary('Atan');

/** Elementwise sum of any number of tensors (Add for two, Sum for more). */
export function sum(g: Graph, xs: readonly TensorRef[]): TensorRef {
  if (xs.length === 1) return xs[0] as TensorRef;
  if (xs.length === 2) return g.op('Add', xs);
  return g.op('Sum', xs);
}

export function where(g: Graph, cond: TensorRef, x: Operand, y: Operand): TensorRef {
  const [xx, yy] = operands(g, x, y);
  return g.op('Where', [cond, xx, yy]);
}

/**
 * x as a constant for autodiff (PyTorch's `x.detach()`): one Identity recorded as the composite StopGradient, whose
 * rule gives its input no gradient. ORT removes the Identity, so the forward costs nothing.
 */
export function stopGradient(g: Graph, x: TensorRef): TensorRef {
  return g.composite('StopGradient', [x], {}, () => ({ outputs: [g.op('Identity', [x])] }))[0] as TensorRef;
}

export function cast(g: Graph, x: TensorRef, to: DType): TensorRef {
  return x.dtype === to ? x : g.op('Cast', [x], { to: ONNX_DTYPE[to] });
}
