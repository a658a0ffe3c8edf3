// Shape ops: Reshape, Flatten, Transpose, Concat, Split, Slice, Gather(Elements, ND), Scatter*, NonMaxSuppression (selection indices), Expand,
// Unsqueeze, Squeeze, Shape, Size, ConstantOfShape, Pad, Tile. Small integer tensors whose values are known
// at build time (constants, Shape of a tensor) are tracked so shapes fold statically.
import { EngineError } from '../errors.js';
import type { Dim, Graph, TensorRef } from '../graph.js';
import { type InferCtx, registerShape } from './registry.js';
import { broadcastShapes, isStatic, normAxis, product, quotient } from './shape-util.js';

const INT_MAX = 2 ** 62;

function intValues(ctx: InferCtx, i: number, what: string): number[] {
  const v = ctx.values(i, what);
  if (!v.every((d): d is number => typeof d === 'number')) throw ctx.error(`the ${what} input must be static`);
  return [...v];
}

registerShape('Reshape', (ctx) => {
  const x = ctx.input(0);
  const target = ctx.values(1, 'shape');
  const dims: (Dim | undefined)[] = target.map((d, i) => (d === 0 && !ctx.int('allowzero', 0) ? x.shape[i] : d === -1 ? undefined : d));
  const holes = dims.filter((d) => d === undefined).length;
  if (holes > 1) throw ctx.error('at most one -1 is allowed in the target shape');
  if (holes === 1) {
    const known = dims.filter((d): d is Dim => d !== undefined);
    const q = quotient(x.shape, known);
    if (q === undefined && isStatic(x.shape) && isStatic(known)) throw ctx.error(`cannot reshape to [${target.join(', ')}]`);
    dims[dims.indexOf(undefined)] = q ?? ctx.unknownDim();
  } else if (isStatic(x.shape) && isStatic(dims as Dim[]) && product(x.shape) !== product(dims as Dim[])) {
    throw ctx.error(`cannot reshape ${product(x.shape)} elements to [${target.join(', ')}]`);
  }
  const value = ctx.g.valueOf(x);
  return [{ dtype: x.dtype, shape: dims as Dim[], value: value ? [...value] : undefined }];
});

registerShape('Flatten', (ctx) => {
  const x = ctx.input(0);
  const axis = ctx.int('axis', 1);
  const a = axis < 0 ? axis + x.shape.length : axis;
  if (a < 0 || a > x.shape.length) throw ctx.error(`axis ${axis} is out of range`);
  return [{ dtype: x.dtype, shape: [product(x.shape.slice(0, a)), product(x.shape.slice(a))] }];
});

registerShape('Transpose', (ctx) => {
  const x = ctx.input(0);
  const perm = ctx.ints('perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  if (perm.length !== x.shape.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) throw ctx.error(`invalid perm [${perm.join(', ')}]`);
  return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p] as Dim) }];
});

registerShape('Concat', (ctx) => {
  const xs = ctx.inputs.filter((t): t is TensorRef => t !== undefined);
  const first = ctx.input(0);
  const axis = normAxis('Concat', ctx.int('axis', 0), first.shape.length);
  const along: Dim[] = [];
  for (const t of xs) {
    if (t.dtype !== first.dtype || t.shape.length !== first.shape.length) throw ctx.error('inputs must share dtype and rank');
    t.shape.forEach((d, i) => {
      if (i !== axis && d !== first.shape[i] && typeof d === 'number' && typeof first.shape[i] === 'number')
        throw ctx.error(`dim ${i} differs (${first.shape[i]} vs ${d})`);
    });
    along.push(t.shape[axis] as Dim);
  }
  const size = along.every((d) => typeof d === 'number') ? (along as number[]).reduce((a, b) => a + b, 0) : ctx.unknownDim();
  const shape = first.shape.map((d, i) => (i === axis ? size : d));
  const values = xs.map((t) => ctx.g.valueOf(t));
  const value = first.shape.length === 1 && values.every((v) => v !== undefined) ? values.flatMap((v) => [...(v as Dim[])]) : undefined;
  return [{ dtype: first.dtype, shape, value }];
});

registerShape('Split', (ctx) => {
  const x = ctx.input(0);
  const axis = normAxis('Split', ctx.int('axis', 0), x.shape.length);
  const dim = x.shape[axis] as Dim;
  let sizes: number[];
  if (ctx.optional(1)) sizes = intValues(ctx, 1, 'split');
  else {
    const n = ctx.nOutputs ?? ctx.int('num_outputs', 0);
    if (!n || typeof dim !== 'number' || dim % n !== 0) throw ctx.error('give split sizes, or an output count that divides a static dim');
    sizes = Array<number>(n).fill(dim / n);
  }
  if (typeof dim === 'number' && sizes.reduce((a, b) => a + b, 0) !== dim) throw ctx.error(`split sizes [${sizes.join(', ')}] do not sum to ${dim}`);
  return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? s : d)) }));
});

/** Output length of one sliced axis (ONNX clamping rules). */
function sliceLength(dim: number, start: number, end: number, step: number): number {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clamp(s, 0, dim - 1);
  e = clamp(e, -1, dim - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}

registerShape('Slice', (ctx) => {
  const x = ctx.input(0);
  const starts = intValues(ctx, 1, 'starts');
  const ends = intValues(ctx, 2, 'ends');
  const axes = ctx.optional(3) ? intValues(ctx, 3, 'axes') : starts.map((_, i) => i);
  const steps = ctx.optional(4) ? intValues(ctx, 4, 'steps') : starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length)
    throw ctx.error('starts, ends, axes and steps must have one length');
  const shape = [...x.shape];
  axes.forEach((ax, i) => {
    const a = normAxis('Slice', ax, x.shape.length);
    const [s, e, st] = [starts[i] as number, ends[i] as number, steps[i] as number];
    if (st === 0) throw ctx.error('steps must be non-zero');
    const d = x.shape[a] as Dim;
    if (typeof d === 'number') shape[a] = sliceLength(d, s, e, st);
    else shape[a] = s === 0 && e >= INT_MAX / 2 && st === 1 ? d : ctx.unknownDim();
  });
  const v = ctx.g.valueOf(x);
  const value =
    v && x.shape.length === 1 && axes.length === 1 && steps[0] === 1 && typeof shape[0] === 'number'
      ? v.slice(starts[0]! < 0 ? starts[0]! + v.length : starts[0], (starts[0]! < 0 ? starts[0]! + v.length : starts[0]!) + shape[0])
      : undefined;
  return [{ dtype: x.dtype, shape, value }];
});

registerShape('Gather', (ctx) => {
  const [x, idx] = [ctx.input(0), ctx.input(1)];
  if (idx.dtype !== 'int64' && idx.dtype !== 'int32') throw ctx.error('indices must be int64 or int32');
  const axis = normAxis('Gather', ctx.int('axis', 0), x.shape.length);
  const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  const xv = ctx.g.valueOf(x);
  const iv = ctx.g.valueOf(idx);
  const value = xv && iv && x.shape.length === 1 ? iv.map((i) => xv[typeof i === 'number' && i < 0 ? i + xv.length : (i as number)] as Dim) : undefined;
  return [{ dtype: x.dtype, shape, value }];
});

registerShape('GatherElements', (ctx) => {
  const [x, idx] = [ctx.input(0), ctx.input(1)];
  if (idx.shape.length !== x.shape.length) throw ctx.error('data and indices must have one rank');
  return [{ dtype: x.dtype, shape: [...idx.shape] }];
});

registerShape(['ScatterElements', 'ScatterND'], (ctx) => [{ dtype: ctx.input(0).dtype, shape: [...ctx.input(0).shape] }]);

registerShape('Expand', (ctx) => {
  const x = ctx.input(0);
  const target = ctx.values(1, 'shape');
  return [{ dtype: x.dtype, shape: broadcastShapes('Expand', [x, { ...x, shape: target }]) }];
});

registerShape('Unsqueeze', (ctx) => {
  const x = ctx.input(0);
  const rank = x.shape.length + intValues(ctx, 1, 'axes').length;
  const axes = intValues(ctx, 1, 'axes').map((a) => normAxis('Unsqueeze', a, rank));
  const rest = [...x.shape];
  const shape = Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : (rest.shift() as Dim)));
  const v = ctx.g.valueOf(x);
  return [{ dtype: x.dtype, shape, value: v ? [...v] : undefined }];
});

registerShape('Squeeze', (ctx) => {
  const x = ctx.input(0);
  const axes = ctx.optional(1) ? intValues(ctx, 1, 'axes').map((a) => normAxis('Squeeze', a, x.shape.length)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of axes) if (typeof x.shape[a] === 'number' && x.shape[a] !== 1) throw ctx.error(`dim ${a} is ${x.shape[a]}, not 1`);
  const v = ctx.g.valueOf(x);
  return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)), value: v ? [...v] : undefined }];
});

registerShape('Shape', (ctx) => {
  const x = ctx.input(0);
  const r = x.shape.length;
  const norm = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const value = x.shape.slice(norm(ctx.int('start', 0)), norm(ctx.int('end', r)));
  return [{ dtype: 'int64', shape: [value.length], value }];
});

registerShape('Size', (ctx) => {
  const p = product(ctx.input(0).shape);
  return [{ dtype: 'int64', shape: [], value: [p] }];
});

registerShape('ConstantOfShape', (ctx) => {
  const a = ctx.attrs.value;
  return [{ dtype: a?.type === 'tensor' ? a.value.dtype : 'float32', shape: [...ctx.values(0, 'shape')] }];
});

registerShape('Pad', (ctx) => {
  const x = ctx.input(0);
  const pads = intValues(ctx, 1, 'pads');
  const r = x.shape.length;
  if (pads.length !== 2 * r) throw ctx.error(`pads needs ${2 * r} values`);
  const shape = x.shape.map((d, i) =>
    typeof d === 'number' ? d + (pads[i] as number) + (pads[i + r] as number) : pads[i] === 0 && pads[i + r] === 0 ? d : ctx.unknownDim(),
  );
  return [{ dtype: x.dtype, shape }];
});

registerShape('Tile', (ctx) => {
  const x = ctx.input(0);
  const reps = intValues(ctx, 1, 'repeats');
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (reps[i] === 1 ? d : typeof d === 'number' ? d * (reps[i] as number) : ctx.unknownDim())) }];
});

// GatherND (batch_dims 0): indices [..., k] pick slices data[i₀, …, i_{k−1}] → indices.shape[:-1] + data.shape[k:]
registerShape('GatherND', (ctx) => {
  const [data, idx] = [ctx.input(0), ctx.input(1)];
  if (ctx.int('batch_dims', 0) !== 0) throw ctx.error('only batch_dims 0 is supported');
  const k = idx.shape[idx.shape.length - 1];
  if (typeof k !== 'number' || k > data.shape.length) throw ctx.error('the last indices dim must be static and at most the data rank');
  return [{ dtype: data.dtype, shape: [...idx.shape.slice(0, -1), ...data.shape.slice(k)] }];
});

// NonMaxSuppression: selected [num_selected, 3] = (batch, class, box) indices, num_selected known only at run time.
registerShape('NonMaxSuppression', (ctx) => {
  const [boxes, scores] = [ctx.input(0), ctx.input(1)];
  if (boxes.shape.length !== 3 || boxes.shape[2] !== 4 || scores.shape.length !== 3) throw ctx.error('boxes must be [B, N, 4] and scores [B, C, N]');
  return [{ dtype: 'int64', shape: [ctx.unknownDim(), 3] }];
});

registerShape('Range', (ctx) => {
  const [s, l, d] = [0, 1, 2].map((i) => ctx.g.valueOf(ctx.input(i))?.[0]);
  // Range(0, n, 1) of a symbolic n (a dimension read with Shape) is as long as that dimension.
  const symbolic = s === 0 && d === 1 && typeof l === 'string' ? l : undefined;
  const n = typeof s === 'number' && typeof l === 'number' && typeof d === 'number' ? Math.max(Math.ceil((l - s) / d), 0) : (symbolic ?? ctx.unknownDim());
  return [{ dtype: ctx.input(0).dtype, shape: [n] }];
});

// ---- functional helpers ----------------------------------------------------------------------------

/**
 * Reshape to `shape`; a symbolic dim in `shape` must be one of x's (at most one, written as -1 in the
 * constant shape input so nothing is computed at run time).
 */
export function reshape(g: Graph, x: TensorRef, shape: readonly Dim[]): TensorRef {
  const symbolic = shape.filter((d) => typeof d === 'string');
  if (symbolic.length > 1 || (symbolic.length === 1 && shape.includes(-1))) {
    throw new EngineError('invalid_argument', `reshape: target [${shape.join(', ')}] may hold at most one symbolic or -1 dim; use reshapeLike`);
  }
  return g.op('Reshape', [x, g.ints(shape.map((d) => (typeof d === 'string' ? -1 : d)))]);
}

/** Reshape x to the (possibly symbolic) shape of `ref`: static constant when possible, else Shape(ref). */
export function reshapeLike(g: Graph, x: TensorRef, ref: TensorRef): TensorRef {
  if (sameDims(x.shape, ref.shape)) return x;
  const symbolic = ref.shape.filter((d) => typeof d === 'string').length;
  if (symbolic <= 1) {
    const out = reshape(g, x, ref.shape);
    if (sameDims(out.shape, ref.shape)) return out;
  }
  return g.op('Reshape', [x, g.op('Shape', [ref])]);
}

function sameDims(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function flatten(g: Graph, x: TensorRef, axis = 1): TensorRef {
  return g.op('Flatten', [x], { axis });
}

export function transpose(g: Graph, x: TensorRef, perm: readonly number[]): TensorRef {
  if (perm.every((p, i) => p === i)) return x;
  return g.op('Transpose', [x], { perm });
}

export function concat(g: Graph, xs: readonly TensorRef[], axis: number): TensorRef {
  return xs.length === 1 ? (xs[0] as TensorRef) : g.op('Concat', xs, { axis });
}

export function split(g: Graph, x: TensorRef, sizes: readonly number[], axis: number): TensorRef[] {
  return g.node('Split', [x, g.ints(sizes)], { axis }, sizes.length);
}

export interface SliceSpec {
  starts: readonly number[];
  ends: readonly number[];
  axes?: readonly number[];
  steps?: readonly number[];
}

export function slice(g: Graph, x: TensorRef, spec: SliceSpec): TensorRef {
  const axes = spec.axes ?? spec.starts.map((_, i) => i);
  const steps = spec.steps && spec.steps.some((s) => s !== 1) ? g.ints(spec.steps) : undefined;
  return g.op('Slice', [x, g.ints(spec.starts), g.ints(spec.ends), g.ints(axes), steps]);
}

/** Gather along `axis`; a number index removes the axis (a scalar index). */
export function gather(g: Graph, x: TensorRef, indices: TensorRef | number, axis = 0): TensorRef {
  const idx = typeof indices === 'number' ? g.constant([indices], [], 'int64') : indices;
  return g.op('Gather', [x, idx], { axis });
}

export function expand(g: Graph, x: TensorRef, shape: readonly Dim[] | TensorRef): TensorRef {
  if (!Array.isArray(shape)) return g.op('Expand', [x, shape as TensorRef]);
  const dims = shape as readonly Dim[];
  if (dims.every((d) => typeof d === 'number')) return g.op('Expand', [x, g.ints(dims as number[])]);
  throw new EngineError('invalid_argument', `expand: symbolic target [${dims.join(', ')}]: pass a shape tensor (g.op('Shape', [ref]))`);
}

export function unsqueeze(g: Graph, x: TensorRef, axes: readonly number[]): TensorRef {
  return g.op('Unsqueeze', [x, g.ints(axes)]);
}

export function squeeze(g: Graph, x: TensorRef, axes: readonly number[]): TensorRef {
  return g.op('Squeeze', [x, g.ints(axes)]);
}

export function shapeOf(g: Graph, x: TensorRef): TensorRef {
  return g.op('Shape', [x]);
}
