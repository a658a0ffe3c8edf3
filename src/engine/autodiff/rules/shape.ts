// Vector-Jacobian rules of shape ops: they move values without changing them, so the cotangent is moved
// back (reshape back, inverse transpose, split, pad, scatter-add).
import { EngineError } from '../../errors.js';
import type { TensorRef } from '../../graph.js';
import { normAxis } from '../../ops/shape-util.js';
import { expandLike, invertPerm, reshapeLike, unbroadcast, zerosLike } from '../helpers.js';
import type { GradContext, GradFamily, GradRule } from '../registry.js';

/** Static starts/ends/axes/steps of a Slice node, normalized against x's static dims. */
function sliceSpec(ctx: GradContext): { axis: number; start: number; end: number; step: number }[] {
  const { g } = ctx;
  const x = ctx.x(0);
  const vals = (i: number): number[] | undefined => {
    const t = ctx.maybeX(i);
    const v = t ? g.valueOf(t) : undefined;
    if (t && !v) throw new EngineError('unsupported_op', 'Slice gradient: starts/ends/axes/steps must be constants');
    return v?.map(Number);
  };
  const starts = vals(1)!;
  const ends = vals(2)!;
  const axes = vals(3) ?? starts.map((_, i) => i);
  const steps = vals(4) ?? starts.map(() => 1);
  return axes.map((a, i) => {
    const axis = normAxis('Slice', a, x.shape.length);
    const dim = x.shape[axis];
    if (typeof dim !== 'number') throw new EngineError('unsupported_op', `Slice gradient: sliced dim ${axis} must be static`);
    const step = steps[i] as number;
    const norm = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    return step > 0
      ? { axis, start: norm(starts[i] as number, 0, dim), end: norm(ends[i] as number, 0, dim), step }
      : { axis, start: norm(starts[i] as number, 0, dim - 1), end: norm(ends[i] as number, -1, dim - 1), step };
  });
}

/**
 * Spreads the cotangent of a stepped slice along one axis back to the sliced positions: reversed first for a
 * negative step, then zeros interleaved (Unsqueeze, Pad st − 1 zeros after each element, Reshape) so element
 * k lands at first + k·|st|. Returns the spread tensor, which starts at `first` and may run past the dim.
 */
function interleave(g: GradContext['g'], d: TensorRef, axis: number, step: number): TensorRef {
  const st = Math.abs(step);
  if (step < 0) d = g.op('Slice', [d, g.ints([-1]), g.ints([-(2 ** 62)]), g.ints([axis]), g.ints([-1])]);
  if (st === 1) return d;
  const r = d.shape.length;
  const u = g.op('Unsqueeze', [d, g.ints([axis + 1])]);
  const pads = new Array<number>(2 * (r + 1)).fill(0);
  pads[axis + 1 + r + 1] = st - 1;
  const padded = g.op('Pad', [u, g.ints(pads)]);
  const n = d.shape[axis] as number;
  const target = d.shape.map((dim, i) => (i === axis ? n * st : typeof dim === 'number' ? dim : i < axis ? 0 : -1));
  return g.op('Reshape', [padded, g.ints(target)]);
}

/** The Slice rule's dx (see the table entry below). */
function unslice(ctx: GradContext): TensorRef {
  const { g } = ctx;
  const x = ctx.x(0);
  let d = ctx.dy;
  const r = x.shape.length;
  const pads = new Array<number>(2 * r).fill(0);
  for (const s of sliceSpec(ctx)) {
    const dim = x.shape[s.axis] as number;
    const n = d.shape[s.axis] as number;
    if (n === 0) {
      pads[s.axis] = dim;
      continue;
    }
    // First (lowest) index the slice touches, then the spread cotangent starting there.
    const first = s.step > 0 ? s.start : s.start + (n - 1) * s.step;
    d = interleave(g, d, s.axis, s.step);
    let extent = d.shape[s.axis] as number;
    if (first + extent > dim) {
      d = g.op('Slice', [d, g.ints([0]), g.ints([dim - first]), g.ints([s.axis])]);
      extent = dim - first;
    }
    pads[s.axis] = first;
    pads[s.axis + r] = dim - first - extent;
  }
  return pads.some((p) => p !== 0) ? g.op('Pad', [d, g.ints(pads)]) : d;
}

/** Constant integer values of input i (repeats, pads), or undefined when the input is omitted or not constant. */
const constInts = (ctx: GradContext, i: number): number[] | undefined => {
  const t = ctx.maybeX(i);
  return t ? ctx.g.valueOf(t)?.map(Number) : undefined;
};

// Reshape/Flatten/Squeeze/Unsqueeze keep the elements in order: dx = reshape(dy, shape(x))
const reshapeBack: GradRule = (ctx) => [() => reshapeLike(ctx.g, ctx.dy, ctx.x(0))];

export const shape: GradFamily = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,

  // y = transpose(x, p): dx = transpose(dy, p⁻¹)
  Transpose: (ctx) => [
    () => {
      const perm = ctx.ints('perm') ?? ctx.x(0).shape.map((_, i, s) => s.length - 1 - i);
      return ctx.g.op('Transpose', [ctx.dy], { perm: invertPerm(perm) });
    },
  ],

  // y = expand(x): dx = Σ dy over the broadcast dims
  Expand: (ctx) => [() => unbroadcast(ctx.g, ctx.dy, ctx.x(0))],

  // y = concat(xᵢ, axis): dxᵢ = split(dy, sizes, axis) (one Split for all inputs)
  Concat: (ctx) => {
    const { g, dy } = ctx;
    const axis = normAxis('Concat', ctx.int('axis', 0), dy.shape.length);
    const sizes = ctx.inputs.map((_, i) => ctx.x(i).shape[axis]);
    if (!sizes.every((s): s is number => typeof s === 'number'))
      throw new EngineError('unsupported_op', 'Concat gradient: the concatenated dim must be static');
    const parts = g.node('Split', [dy, g.ints(sizes)], { axis }, sizes.length);
    return parts.map((p) => () => p);
  },

  // [yᵢ] = split(x): dx = concat(dyᵢ) with zeros for outputs that do not reach the loss
  Split: (ctx) => [
    () => {
      const { g } = ctx;
      const axis = normAxis('Split', ctx.int('axis', 0), ctx.x(0).shape.length);
      const parts = ctx.outputs.map((o, i) => ctx.dOutputs[i] ?? zerosLike(g, o));
      return g.op('Concat', parts, { axis });
    },
  ],

  // y = x[start:end:step]: dx = dy put back at the sliced positions, zeros elsewhere (Pad; zeros interleaved
  // between elements for |step| > 1, reversed for step < 0)
  Slice: (ctx) => [() => unslice(ctx)],

  // y = pad(x, constant): dx = dy sliced back to x's window (non-negative pads)
  Pad: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    const pads = constInts(ctx, 1);
    if (!pads || pads.some((p) => p < 0) || ctx.string('mode', 'constant') !== 'constant') {
      throw new EngineError('unsupported_op', 'Pad gradient: needs constant, non-negative pads in constant mode');
    }
    const r = x.shape.length;
    const axes = x.shape.map((_, i) => i).filter((i) => pads[i] !== 0 || pads[i + r] !== 0);
    const starts = axes.map((i) => pads[i] as number);
    const ends = axes.map((i) => -(pads[i + r] as number) || 2 ** 62);
    return [() => g.op('Slice', [dy, g.ints(starts), g.ints(ends), g.ints(axes)])];
  },

  // y = gather(x, idx, axis): dx = scatter-add of dy into zeros at idx along axis (repeated indices add up)
  Gather: (ctx) => {
    const { g, dy } = ctx;
    const [x, idx] = [ctx.x(0), ctx.x(1)];
    const axis = normAxis('Gather', ctx.int('axis', 0), x.shape.length);
    const n = idx.shape.reduce<number | undefined>((p, d) => (typeof d === 'number' && p !== undefined ? p * d : undefined), 1);
    if (n === undefined) throw new EngineError('unsupported_op', 'Gather gradient: the indices must have a static shape');
    const dx = (): TensorRef => {
      // Flatten the index dims of dy to one axis of length n, then ScatterElements along `axis`.
      const outer = x.shape.slice(0, axis);
      const inner = x.shape.slice(axis + 1);
      const updShape = [...outer, n, ...inner];
      const upd = reshapeLike(g, dy, { ...dy, shape: updShape });
      const flatIdx = g.op('Reshape', [idx, g.ints(updShape.map((_, i) => (i === axis ? n : 1)))]);
      const indices = expandLike(g, idx.dtype === 'int64' ? flatIdx : g.op('Cast', [flatIdx], { to: 7 }), upd);
      return g.op('ScatterElements', [zerosLike(g, x), indices, upd], { axis, reduction: 'add' });
    };
    return [dx, undefined];
  },

  // y = gatherElements(x, idx, axis): dx = scatter-add of dy into zeros at idx along axis
  GatherElements: (ctx) => {
    const { g, dy } = ctx;
    const [x, idx] = [ctx.x(0), ctx.x(1)];
    const axis = normAxis('GatherElements', ctx.int('axis', 0), x.shape.length);
    return [() => g.op('ScatterElements', [zerosLike(g, x), idx, dy], { axis, reduction: 'add' }), undefined];
  },

  // y = tile(x, r): dy viewed as [r₀, d₀, r₁, d₁, …] summed over the repeat axes
  Tile: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    const reps = constInts(ctx, 1);
    if (!reps) throw new EngineError('unsupported_op', 'Tile gradient: repeats must be a constant');
    if (reps.every((r) => r === 1)) return [() => dy, undefined];
    const symbolic = x.shape.filter((d) => typeof d !== 'number').length;
    if (symbolic > 1 || x.shape.some((d, i) => typeof d !== 'number' && reps[i] !== 1)) {
      throw new EngineError('unsupported_op', 'Tile gradient: repeated dims must be static');
    }
    const dx = (): TensorRef => {
      const split = g.op('Reshape', [dy, g.ints(x.shape.flatMap((d, i) => [reps[i]!, typeof d === 'number' ? d : -1]))]);
      const axes = x.shape.map((_, i) => 2 * i).filter((a) => reps[a / 2] !== 1);
      return reshapeLike(g, g.op('ReduceSum', [split, g.ints(axes)], { keepdims: 0 }), x);
    };
    return [dx, undefined];
  },
};
