// Vector-Jacobian rules of reductions: the cotangent is broadcast back over the reduced axes.
import { EngineError } from '../../errors.js';
import type { Graph, TensorRef } from '../../graph.js';
import { ONNX_DTYPE } from '../../onnx/dtype.js';
import { axesAsInput, reduce } from '../../ops/reduce.js';
import { normAxis } from '../../ops/shape-util.js';
import { expandLike } from '../helpers.js';
import type { GradContext, GradFamily, GradRule } from '../registry.js';

/** The reduced axes of a reduce node (input or attribute by opset; all axes when none are given). */
function reducedAxes(ctx: GradContext): number[] {
  const x = ctx.x(0);
  let raw: readonly (number | string)[] | undefined;
  if (axesAsInput(ctx.opType, ctx.g.opset)) {
    const axes = ctx.maybeX(1);
    raw = axes ? ctx.g.valueOf(axes) : undefined;
    if (axes && !raw) throw new EngineError('unsupported_op', `${ctx.opType}: axes must be a constant for autodiff`);
  } else raw = ctx.ints('axes');
  if (!raw || raw.length === 0) return x.shape.map((_, i) => i);
  return raw.map((a) => normAxis(ctx.opType, Number(a), x.shape.length));
}

/** dy with the reduced axes restored (size 1) and broadcast to x's shape. */
function spread(g: Graph, ctx: GradContext, axes: number[]): TensorRef {
  const kept = ctx.int('keepdims', 1) ? ctx.dy : g.op('Unsqueeze', [ctx.dy, g.ints(axes)]);
  return expandLike(g, kept, ctx.x(0));
}

// y = max_axes x (min likewise): dy shared evenly by the elements equal to the extreme (PyTorch's amax/amin)
const extreme: GradRule = (ctx) => [
  () => {
    const { g } = ctx;
    const x = ctx.x(0);
    const axes = reducedAxes(ctx);
    const keep = (t: TensorRef): TensorRef => (ctx.int('keepdims', 1) ? t : g.op('Unsqueeze', [t, g.ints(axes)]));
    const hit = g.op('Cast', [g.op('Equal', [x, keep(ctx.y())])], { to: ONNX_DTYPE[x.dtype] });
    const ties = reduce(g, 'ReduceSum', hit, axes, true);
    return g.op('Mul', [hit, g.op('Div', [keep(ctx.dy), ties])]);
  },
];

export const reduction: GradFamily = {
  // y = Σ_axes x: dx = broadcast(dy)
  ReduceSum: (ctx) => [() => spread(ctx.g, ctx, reducedAxes(ctx))],

  // y = mean_axes x: dx = broadcast(dy) / n, n = Π reduced dims
  ReduceMean: (ctx) => [
    () => {
      const { g } = ctx;
      const x = ctx.x(0);
      const axes = reducedAxes(ctx);
      const dims = axes.map((a) => x.shape[a]);
      let n: TensorRef;
      if (dims.every((d): d is number => typeof d === 'number'))
        n = g.scalar(
          dims.reduce((p, d) => p * d, 1),
          x,
        );
      else {
        // A symbolic (batch) axis: n = size(x) / size(y), computed at run time.
        const size = (t: TensorRef): TensorRef => g.op('Cast', [g.op('Size', [t])], { to: ONNX_DTYPE[x.dtype] });
        n = g.op('Div', [size(x), size(ctx.y())]);
      }
      return g.op('Div', [spread(g, ctx, axes), n]);
    },
  ],

  ReduceMax: extreme,
  ReduceMin: extreme,
};
