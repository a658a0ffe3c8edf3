// Reductions. ReduceSum takes its axes as an input since opset 13; the other reductions only since opset
// 18 (an attribute before), so the helpers emit whichever form the graph's opset wants.
import type { Dim, Graph, TensorRef } from '../graph.js';
import { type InferCtx, registerShape } from './registry.js';
import { normAxis } from './shape-util.js';

const REDUCE_OPS = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp'];

/** True when `opType` takes axes as an input at this opset. */
export function axesAsInput(opType: string, opset: number): boolean {
  return opType === 'ReduceSum' || opset >= 18;
}

/** The normalized axes a reduce node reduces over (all axes when none are given). */
export function reduceAxes(ctx: InferCtx): number[] {
  const x = ctx.input(0);
  const raw = axesAsInput(ctx.opType, ctx.g.opset) ? (ctx.optional(1) ? ctx.values(1, 'axes') : undefined) : ctx.ints('axes');
  if (raw === undefined || raw.length === 0) {
    if (ctx.int('noop_with_empty_axes', 0)) return [];
    return x.shape.map((_, i) => i);
  }
  return raw.map((a) => {
    if (typeof a !== 'number') throw ctx.error('axes must be static');
    return normAxis(ctx.opType, a, x.shape.length);
  });
}

registerShape(REDUCE_OPS, (ctx) => {
  const x = ctx.input(0);
  const axes = reduceAxes(ctx);
  const keep = ctx.int('keepdims', 1) !== 0;
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ dtype: x.dtype, shape }];
});

registerShape(['ArgMax', 'ArgMin'], (ctx) => {
  const x = ctx.input(0);
  const axis = normAxis(ctx.opType, ctx.int('axis', 0), x.shape.length);
  const keep = ctx.int('keepdims', 1) !== 0;
  return [{ dtype: 'int64', shape: x.shape.flatMap((d, i) => (i !== axis ? [d] : keep ? [1] : [])) }];
});

registerShape('TopK', (ctx) => {
  const x = ctx.input(0);
  const axis = normAxis('TopK', ctx.int('axis', -1), x.shape.length);
  const [k] = ctx.values(1, 'k');
  if (typeof k !== 'number' || k < 0) throw ctx.error('k must be a non-negative constant');
  const d = x.shape[axis] as Dim;
  if (typeof d === 'number' && k > d) throw ctx.error(`k = ${k} is larger than axis ${axis} (${d})`);
  const shape = x.shape.map((s, i) => (i === axis ? k : s));
  return [
    { dtype: x.dtype, shape },
    { dtype: 'int64', shape: [...shape] },
  ];
});

/**
 * The k largest values along `axis` and their indices, largest first; equal values keep their order (lower index
 * first), as ONNX specifies for TopK.
 */
export function topK(g: Graph, x: TensorRef, k: number, axis = -1): { values: TensorRef; indices: TensorRef } {
  const [values, indices] = g.node('TopK', [x, g.ints([k])], { axis, largest: 1, sorted: 1 }, 2) as [TensorRef, TensorRef];
  return { values, indices };
}

/** Emits a reduction over `axes` (all when omitted). */
export function reduce(g: Graph, opType: string, x: TensorRef, axes?: readonly number[], keepdims = false): TensorRef {
  const keep = keepdims ? 1 : 0;
  if (axes === undefined) return g.op(opType, [x], { keepdims: keep });
  if (axesAsInput(opType, g.opset)) return g.op(opType, [x, g.ints(axes)], { keepdims: keep });
  return g.op(opType, [x], { axes, keepdims: keep });
}

export const reduceSum = (g: Graph, x: TensorRef, axes?: readonly number[], keepdims = false): TensorRef => reduce(g, 'ReduceSum', x, axes, keepdims);
export const reduceMean = (g: Graph, x: TensorRef, axes?: readonly number[], keepdims = false): TensorRef => reduce(g, 'ReduceMean', x, axes, keepdims);
export const reduceMax = (g: Graph, x: TensorRef, axes?: readonly number[], keepdims = false): TensorRef => reduce(g, 'ReduceMax', x, axes, keepdims);

export function argMax(g: Graph, x: TensorRef, axis = -1, keepdims = false): TensorRef {
  return g.op('ArgMax', [x], { axis, keepdims: keepdims ? 1 : 0 });
}
