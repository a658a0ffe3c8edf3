// Matrix products: MatMul (numpy semantics, broadcast batch dims), Gemm, and the `linear` layer helper.
import type { Dim, Graph, TensorRef } from '../graph.js';
import { registerShape } from './registry.js';
import { broadcastShapes } from './shape-util.js';

const compatible = (a: Dim, b: Dim): boolean => a === b || typeof a === 'string' || typeof b === 'string';

registerShape('MatMul', (ctx) => {
  const [a, b] = [ctx.input(0), ctx.input(1)];
  if (a.dtype !== b.dtype) throw ctx.error('operands must share one dtype');
  if (a.shape.length === 0 || b.shape.length === 0) throw ctx.error('operands must have rank >= 1');
  // numpy: a 1-D left operand is a row vector, a 1-D right operand a column vector; the added dim is dropped.
  const as = a.shape.length === 1 ? [1, ...a.shape] : a.shape;
  const bs = b.shape.length === 1 ? [...b.shape, 1] : b.shape;
  const [m, k1] = as.slice(-2) as [Dim, Dim];
  const [k2, n] = bs.slice(-2) as [Dim, Dim];
  if (!compatible(k1, k2)) throw ctx.error(`inner dimensions differ (${k1} vs ${k2})`);
  const batch = broadcastShapes('MatMul', [
    { ...a, shape: as.slice(0, -2) },
    { ...b, shape: bs.slice(0, -2) },
  ]);
  const shape = [...batch, ...(a.shape.length === 1 ? [] : [m]), ...(b.shape.length === 1 ? [] : [n])];
  return [{ dtype: a.dtype, shape }];
});

registerShape('Gemm', (ctx) => {
  const [a, b, c] = [ctx.input(0), ctx.input(1), ctx.optional(2)];
  if (a.shape.length !== 2 || b.shape.length !== 2) throw ctx.error('A and B must be 2-D');
  const [m, ka] = (ctx.int('transA', 0) ? [...a.shape].reverse() : a.shape) as [Dim, Dim];
  const [kb, n] = (ctx.int('transB', 0) ? [...b.shape].reverse() : b.shape) as [Dim, Dim];
  if (!compatible(ka, kb)) throw ctx.error(`inner dimensions differ (${ka} vs ${kb})`);
  const shape = [m, n];
  if (c) {
    const out = broadcastShapes('Gemm', [{ ...c, shape }, c]);
    if (out.length !== 2 || !compatible(out[0] as Dim, m) || !compatible(out[1] as Dim, n)) throw ctx.error(`C does not broadcast to [${m}, ${n}]`);
  }
  return [{ dtype: a.dtype, shape }];
});

export function matmul(g: Graph, a: TensorRef, b: TensorRef): TensorRef {
  return g.op('MatMul', [a, b]);
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

export function gemm(g: Graph, a: TensorRef, b: TensorRef, c?: TensorRef, opts: GemmOptions = {}): TensorRef {
  const attrs: Record<string, number> = {};
  if (opts.transA) attrs.transA = 1;
  if (opts.transB) attrs.transB = 1;
  if (opts.alpha !== undefined && opts.alpha !== 1) attrs.alpha = opts.alpha;
  if (opts.beta !== undefined && opts.beta !== 1) attrs.beta = opts.beta;
  return g.op('Gemm', [a, b, c], attrs);
}

/**
 * y = x·W + b with W laid out [in, out] (a MatMul weight; init with layout 'in-out'). A 2-D input uses
 * Gemm (one kernel with the bias); higher ranks (tokens [B, T, D]) use MatMul + Add.
 */
export function linear(g: Graph, x: TensorRef, w: TensorRef, b?: TensorRef): TensorRef {
  if (x.shape.length === 2 && w.shape.length === 2) return gemm(g, x, w, b);
  const y = matmul(g, x, w);
  return b ? g.op('Add', [y, b]) : y;
}
