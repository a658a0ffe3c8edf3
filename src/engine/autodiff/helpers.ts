// Building blocks shared by gradient rules.
import type { Graph, TensorRef } from '../graph.js';
import { reshapeLike } from '../ops/shape.js';
import { isStatic, sameShape } from '../ops/shape-util.js';

export { reshapeLike };

/**
 * Sums a broadcast gradient back to the shape of the input it came from: leading dims the input lacks
 * and dims where the input is 1 are reduced (one ReduceSum), then the rank is restored.
 */
export function unbroadcast(g: Graph, grad: TensorRef, target: TensorRef): TensorRef {
  if (sameShape(grad.shape, target.shape)) return grad;
  const lead = grad.shape.length - target.shape.length;
  const axes: number[] = [];
  grad.shape.forEach((d, i) => {
    if (i < lead || (target.shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  if (axes.length === 0) return reshapeLike(g, grad, target);
  // Only leading axes: keepdims = 0 already gives the target shape.
  const onlyLeading = axes.every((a) => a < lead);
  const reduced = g.op('ReduceSum', [grad, g.ints(axes)], { keepdims: onlyLeading ? 0 : 1 });
  return reshapeLike(g, reduced, target);
}

/** Broadcasts x to the (possibly symbolic) shape of `ref`. */
export function expandLike(g: Graph, x: TensorRef, ref: TensorRef): TensorRef {
  if (sameShape(x.shape, ref.shape)) return x;
  const shape = isStatic(ref.shape) ? g.ints(ref.shape) : g.op('Shape', [ref]);
  return g.op('Expand', [x, shape]);
}

/** The inverse of a permutation. */
export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Swaps the last two axes (matrix transpose of a batched tensor). */
export function transposeLast2(g: Graph, x: TensorRef): TensorRef {
  const r = x.shape.length;
  const perm = x.shape.map((_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
  return g.op('Transpose', [x], { perm });
}

function filled(g: Graph, like: TensorRef, value: number): TensorRef {
  if (like.shape.length === 0) return g.scalar(value, like);
  const shape = isStatic(like.shape) ? g.ints(like.shape) : g.op('Shape', [like]);
  const data = like.dtype === 'float64' ? Float64Array.of(value) : Float32Array.of(value);
  return g.op('ConstantOfShape', [shape], { value: { type: 'tensor', value: { dtype: like.dtype, shape: [1], data } } });
}

/** A tensor of ones (zeros) with the dtype and (possibly symbolic) shape of `like`. */
export const onesLike = (g: Graph, like: TensorRef): TensorRef => filled(g, like, 1);
export const zerosLike = (g: Graph, like: TensorRef): TensorRef => filled(g, like, 0);
