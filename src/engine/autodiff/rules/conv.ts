// Vector-Jacobian rules of Conv, ConvTranspose and pooling (any spatial rank; explicit pads). For Y = Conv(X, W), stride s,
// pads (pb, pe), dilation d, groups G, X [N, C, H…], W [M, C/G, K…], Y [N, M, OH…]:
//   dX = ConvTranspose(dY, W; s, pads, d, G, output_padding = H + pb + pe − (s·(OH−1) + d·(K−1) + 1));
//        with stride 1 it is the plain Conv of dY with the flipped, channel-swapped kernel and pads d·(K−1) − p
//        (measured ~20% faster than ConvTranspose in onnxruntime's CPU kernels).
//   dW[m, c, k] = Σ_n Σ_o dY[n, m, o]·Xpad[n, c, o·s + k·d] (c within m's group), by default per image in NCHW: one
//        Slice of the padded X per kernel offset, concatenated to cols [N, C·K², OH·OW] (X itself for a 1×1 stride-1
//        conv), one batched MatMul dY[N, M, OH·OW]·colsᵀ and a ReduceSum over N — no Transpose of X or dY. Grouped
//        convs, and non-overlapping patches (K = s > 1: a Reshape + Transpose), take the channel-major im2col
//        [C·K², N·OH·OW] and one Gemm (a batched MatMul per group). Both measured in docs/engine.md.
//   dB = Σ dY over N and spatial dims.
import { EngineError } from '../../errors.js';
import type { Graph, TensorRef } from '../../graph.js';
import { expandLike, reshapeLike, zerosLike } from '../helpers.js';
import type { GradContext, GradFamily, LazyGrad } from '../registry.js';

interface ConvGeometry {
  r: number;
  strides: number[];
  pads: number[];
  dilations: number[];
  group: number;
  kernel: number[];
}

function geometry(ctx: GradContext, kernel: readonly number[]): ConvGeometry {
  const r = kernel.length;
  if (ctx.string('auto_pad', 'NOTSET') !== 'NOTSET')
    throw new EngineError('unsupported_op', `${ctx.opType} gradient: auto_pad is not supported, give explicit pads`);
  return {
    r,
    kernel: [...kernel],
    strides: [...(ctx.ints('strides') ?? Array<number>(r).fill(1))],
    pads: [...(ctx.ints('pads') ?? Array<number>(2 * r).fill(0))],
    dilations: [...(ctx.ints('dilations') ?? Array<number>(r).fill(1))],
    group: ctx.int('group', 1),
  };
}

function staticDims(t: TensorRef, from: number, what: string): number[] {
  const dims = t.shape.slice(from);
  if (!dims.every((d): d is number => typeof d === 'number'))
    throw new EngineError('unsupported_op', `${what}: spatial dims must be static, got [${t.shape.join(', ')}]`);
  return dims;
}

/** output_padding that makes a ConvTranspose of `out` give back the spatial size `input`. */
function outputPadding(geo: ConvGeometry, input: number[], out: number[]): number[] {
  return input.map((h, i) => h + geo.pads[i]! + geo.pads[i + geo.r]! - (geo.strides[i]! * (out[i]! - 1) + geo.dilations[i]! * (geo.kernel[i]! - 1) + 1));
}

/** dX of a stride-1 Conv: Conv(dY, W flipped in space with in/out channels swapped per group). */
function inputGradStride1(g: Graph, dy: TensorRef, w: TensorRef, geo: ConvGeometry): TensorRef {
  const { r, group, kernel } = geo;
  const [m, cg] = [w.shape[0] as number, w.shape[1] as number];
  const spatial = Array.from({ length: r }, (_, i) => i + 2);
  const flipped = g.op('Slice', [w, g.ints(spatial.map(() => -1)), g.ints(spatial.map(() => -(2 ** 62))), g.ints(spatial), g.ints(spatial.map(() => -1))]);
  let swapped: TensorRef;
  if (group === 1) swapped = g.op('Transpose', [flipped], { perm: [1, 0, ...spatial] });
  else {
    const grouped = g.op('Reshape', [flipped, g.ints([group, m / group, cg, ...kernel])]);
    const t = g.op('Transpose', [grouped], { perm: [0, 2, 1, ...spatial.map((i) => i + 1)] });
    swapped = g.op('Reshape', [t, g.ints([group * cg, m / group, ...kernel])]);
  }
  const pads = geo.pads.map((p, i) => geo.dilations[i % r]! * (kernel[i % r]! - 1) - p);
  return g.op('Conv', [dy, swapped], { kernel_shape: kernel, strides: kernel.map(() => 1), pads, dilations: geo.dilations, group });
}

/** dX of a strided Conv: ConvTranspose with the output_padding that restores X's spatial size. */
function inputGradTransposed(g: Graph, dy: TensorRef, w: TensorRef, geo: ConvGeometry, spatialIn: number[], spatialOut: number[]): TensorRef {
  const op = outputPadding(geo, spatialIn, spatialOut);
  return g.op('ConvTranspose', [dy, w], {
    kernel_shape: geo.kernel,
    strides: geo.strides,
    pads: geo.pads,
    dilations: geo.dilations,
    group: geo.group,
    ...(op.some((v) => v !== 0) ? { output_padding: op } : {}),
  });
}

/** The input window of every output position, one strided Slice of the padded input `xp` per kernel offset (on `axes`). */
function windowSlices(g: Graph, xp: TensorRef, axes: number[], geo: ConvGeometry, spatialOut: number[]): TensorRef[] {
  const { kernel, strides, dilations } = geo;
  const kSize = kernel.reduce((a, b) => a * b, 1);
  const axesRef = g.ints(axes);
  const steps = strides.some((s) => s !== 1) ? g.ints(strides) : undefined;
  return Array.from({ length: kSize }, (_, k) => {
    const starts = kernelOffset(kernel, k).map((o, i) => o * dilations[i]!);
    const ends = starts.map((st, i) => st + strides[i]! * (spatialOut[i]! - 1) + 1);
    return g.op('Slice', [xp, g.ints(starts), g.ints(ends), axesRef, steps]);
  });
}

/** cols [C·K…, N·OH·…]: the input window of every output position, for every kernel offset (im2col). */
function im2col(g: Graph, x: TensorRef, geo: ConvGeometry, spatialIn: number[], spatialOut: number[]): TensorRef {
  const { r, kernel, pads } = geo;
  const c = x.shape[1] as number;
  const kSize = kernel.reduce((a, b) => a * b, 1);
  const spatial = Array.from({ length: r }, (_, i) => i + 2);
  if (isPatchify(geo, spatialIn, spatialOut)) {
    // X [N, C, OH·K, …] → [N, C, OH, K, …] → [C, K…, N, OH…]
    const split = g.op('Reshape', [x, g.ints([-1, c, ...spatialOut.flatMap((o, i) => [o, kernel[i]!])])]);
    const perm = [1, ...spatial.map((i) => 2 * i - 1), 0, ...spatial.map((i) => 2 * i - 2)];
    return g.op('Reshape', [g.op('Transpose', [split], { perm }), g.ints([c * kSize, -1])]);
  }
  let xt = g.op('Transpose', [x], { perm: [1, 0, ...spatial] }); // [C, N, H…]
  if (pads.some((p) => p !== 0)) xt = g.op('Pad', [xt, g.ints([0, 0, ...pads.slice(0, r), 0, 0, ...pads.slice(r)])]);
  const xu = g.op('Unsqueeze', [xt, g.ints([1])]); // [C, 1, N, Hp…]
  const slices = windowSlices(
    g,
    xu,
    spatial.map((i) => i + 1),
    geo,
    spatialOut,
  );
  return g.op('Reshape', [g.op('Concat', slices, { axis: 1 }), g.ints([c * kSize, -1])]); // [C·K…, N·OH…]
}

/** How the weight gradient is formulated: 'auto' picks per shape (below); the others force one (tests, benchmarks). */
export type ConvWeightGradStrategy = 'auto' | 'im2col' | 'batched';
let weightStrategy: ConvWeightGradStrategy = 'auto';

/** Sets the weight-gradient formulation of the Conv rules applied from now on; returns the previous one. */
export function setConvWeightGradStrategy(s: ConvWeightGradStrategy): ConvWeightGradStrategy {
  const prev = weightStrategy;
  weightStrategy = s;
  return prev;
}

/** The kernel offset k (row-major over the kernel dims) as a multi-index. */
function kernelOffset(kernel: readonly number[], k: number): number[] {
  return kernel.map((_, i) => Math.floor(k / kernel.slice(i + 1).reduce((a, b) => a * b, 1)) % kernel[i]!);
}

/** Non-overlapping patches (K = s, no pads, d = 1, the input an exact multiple): im2col is a Reshape + Transpose. */
function isPatchify(geo: ConvGeometry, spatialIn: number[], spatialOut: number[]): boolean {
  const { pads, dilations, kernel, strides } = geo;
  return pads.every((p) => p === 0) && dilations.every((d) => d === 1) && kernel.every((k, i) => k === strides[i] && spatialIn[i] === k * spatialOut[i]!);
}

/**
 * dW per image in the tensors' own NCHW layout (group 1): cols[n] [C·K…, OH·OW…] from one Slice of the padded X per
 * kernel offset (a Concat on a new axis 2; none at all for a 1×1 stride-1 conv, where cols is X itself), then one
 * batched MatMul dY[N, M, P]·colsᵀ (ORT fuses the Transpose into FusedMatMul) and a ReduceSum over N. No Transpose
 * of X or dY, and the MatMul is parallel over the batch.
 */
function weightGradBatched(g: Graph, input: TensorRef, dOut: TensorRef, w: TensorRef, geo: ConvGeometry, spatialIn: number[], spatialOut: number[]): TensorRef {
  const { r, kernel, pads } = geo;
  const [m, c] = [w.shape[0] as number, input.shape[1] as number];
  const kSize = kernel.reduce((a, b) => a * b, 1);
  const planeOut = spatialOut.reduce((a, b) => a * b, 1);
  let cols: TensorRef;
  if (kSize === 1 && pads.every((p) => p === 0) && spatialIn.every((h, i) => h === spatialOut[i])) cols = g.op('Reshape', [input, g.ints([-1, c, planeOut])]);
  else {
    const xp = pads.some((p) => p !== 0) ? g.op('Pad', [input, g.ints([0, 0, ...pads.slice(0, r), 0, 0, ...pads.slice(r)])]) : input;
    const xu = g.op('Unsqueeze', [xp, g.ints([2])]); // [N, C, 1, Hp…]
    const slices = windowSlices(
      g,
      xu,
      Array.from({ length: r }, (_, i) => i + 3),
      geo,
      spatialOut,
    );
    const stacked = slices.length === 1 ? (slices[0] as TensorRef) : g.op('Concat', slices, { axis: 2 }); // [N, C, K…, OH…]
    cols = g.op('Reshape', [stacked, g.ints([-1, c * kSize, planeOut])]);
  }
  const prod = g.op('MatMul', [g.op('Reshape', [dOut, g.ints([-1, m, planeOut])]), g.op('Transpose', [cols], { perm: [0, 2, 1] })]); // [N, M, C·K…]
  return g.op('Reshape', [g.op('ReduceSum', [prod, g.ints([0])], { keepdims: 0 }), g.ints([m, c, ...kernel])]);
}

/**
 * dW[m, c, k] = Σ_n Σ_o dOut[n, m, o]·input_pad[n, c, o·s + k·d] for W [M, C/G, K…]. 'auto': the per-image batched
 * MatMul for group 1, except non-overlapping patches (K = s > 1), where the channel-major im2col is one Transpose;
 * grouped convs always take the channel-major im2col (docs/engine.md, "Performance choices").
 */
function weightGrad(g: Graph, input: TensorRef, dOut: TensorRef, w: TensorRef, geo: ConvGeometry, spatialIn: number[], spatialOut: number[]): TensorRef {
  const patches = isPatchify(geo, spatialIn, spatialOut) && geo.kernel.some((k) => k > 1);
  const batched = geo.group === 1 && (weightStrategy === 'batched' || (weightStrategy === 'auto' && !patches));
  return batched ? weightGradBatched(g, input, dOut, w, geo, spatialIn, spatialOut) : weightGradIm2col(g, input, dOut, w, geo, spatialIn, spatialOut);
}

/** Channel-major im2col and one Gemm dY[M, N·OH…]·colsᵀ (a batched MatMul over groups). */
function weightGradIm2col(g: Graph, input: TensorRef, dOut: TensorRef, w: TensorRef, geo: ConvGeometry, spatialIn: number[], spatialOut: number[]): TensorRef {
  const [m, cg] = [w.shape[0] as number, w.shape[1] as number];
  const { r, group, kernel } = geo;
  const spatial = Array.from({ length: r }, (_, i) => i + 2);
  const kSize = kernel.reduce((a, b) => a * b, 1);
  const cols = im2col(g, input, geo, spatialIn, spatialOut);
  const dMat = g.op('Reshape', [g.op('Transpose', [dOut], { perm: [1, 0, ...spatial] }), g.ints([m, -1])]); // [M, N·OH…]
  let flat: TensorRef;
  if (group === 1) flat = g.op('Gemm', [dMat, cols], { transB: 1 });
  else {
    const dG = g.op('Reshape', [dMat, g.ints([group, m / group, -1])]);
    const colsG = g.op('Reshape', [cols, g.ints([group, cg * kSize, -1])]);
    flat = g.op('MatMul', [dG, g.op('Transpose', [colsG], { perm: [0, 2, 1] })]);
  }
  return g.op('Reshape', [flat, g.ints([m, cg, ...kernel])]);
}

/** dB = Σ dY over N and the spatial dims, where the op has a bias input. */
function biasGrad(ctx: GradContext): LazyGrad | undefined {
  const { g, dy } = ctx;
  const spatial = Array.from({ length: dy.shape.length - 2 }, (_, i) => i + 2);
  return ctx.maybeX(2) && (() => g.op('ReduceSum', [dy, g.ints([0, ...spatial])], { keepdims: 0 }));
}

export const conv: GradFamily = {
  Conv: (ctx) => {
    const { g, dy } = ctx;
    const [x, w] = [ctx.x(0), ctx.x(1)];
    const geo = geometry(ctx, staticDims(w, 2, 'Conv gradient'));
    const spatialIn = staticDims(x, 2, 'Conv gradient');
    const spatialOut = staticDims(dy, 2, 'Conv gradient');
    const { r, kernel } = geo;
    const stride1 = geo.strides.every((s) => s === 1) && geo.pads.every((p, i) => p <= geo.dilations[i % r]! * (kernel[i % r]! - 1));
    return [
      () => (stride1 ? inputGradStride1(g, dy, w, geo) : inputGradTransposed(g, dy, w, geo, spatialIn, spatialOut)),
      () => weightGrad(g, x, dy, w, geo, spatialIn, spatialOut),
      biasGrad(ctx),
    ];
  },

  // Y = ConvTranspose(X, W) is the adjoint of Conv with the same W: ⟨dY, ConvT_W(X)⟩ = ⟨Conv_W(dY), X⟩, so
  //   dX = Conv(dY, W; same strides, pads, dilations, group),
  //   dW = the Conv weight gradient with input dY and output cotangent X (W [C, M/G, K…] is Conv's layout).
  ConvTranspose: (ctx) => {
    const { g, dy } = ctx;
    const [x, w] = [ctx.x(0), ctx.x(1)];
    if (ctx.ints('output_shape')) throw new EngineError('unsupported_op', 'ConvTranspose gradient: give output_padding instead of output_shape');
    const geo = geometry(ctx, staticDims(w, 2, 'ConvTranspose gradient'));
    return [
      () => g.op('Conv', [dy, w], { kernel_shape: geo.kernel, strides: geo.strides, pads: geo.pads, dilations: geo.dilations, group: geo.group }),
      () => weightGrad(g, dy, x, w, geo, staticDims(dy, 2, 'ConvTranspose gradient'), staticDims(x, 2, 'ConvTranspose gradient')),
      biasGrad(ctx),
    ];
  },

  // y = mean over H…: dx = broadcast(dy) / (H·W…)
  GlobalAveragePool: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    const n = staticDims(x, 2, 'GlobalAveragePool gradient').reduce((a, b) => a * b, 1);
    return [() => expandLike(g, g.op('Div', [dy, g.scalar(n, dy)]), x)];
  },

  // y = window mean (padded cells counted): dx = ConvTranspose of dy with a constant 1/|window| kernel, per channel
  AveragePool: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    const geo = geometry(ctx, ctx.ints('kernel_shape') ?? []);
    if (ctx.int('ceil_mode', 0) || (!ctx.int('count_include_pad', 0) && geo.pads.some((p) => p !== 0))) {
      throw new EngineError('unsupported_op', 'AveragePool gradient: needs ceil_mode 0, and count_include_pad 1 when padded');
    }
    const c = x.shape[1];
    if (typeof c !== 'number') throw new EngineError('unsupported_op', 'AveragePool gradient: the channel dim must be static');
    const dx = (): TensorRef => {
      const size = geo.kernel.reduce((a, b) => a * b, 1);
      const kernel = g.constant(new Array<number>(c * size).fill(1 / size), [c, 1, ...geo.kernel], dy.dtype);
      const op = outputPadding(geo, staticDims(x, 2, 'AveragePool gradient'), staticDims(dy, 2, 'AveragePool gradient'));
      return g.op('ConvTranspose', [dy, kernel], {
        kernel_shape: geo.kernel,
        strides: geo.strides,
        pads: geo.pads,
        group: c,
        ...(op.some((v) => v !== 0) ? { output_padding: op } : {}),
      });
    };
    return [dx];
  },

  // y = nearest upsampling by integer factors sᵢ (each x cell copied to an s₁×s₂… block): dx = Σ dy over each block,
  // dy viewed as [N, C, H, s₁, W, s₂, …] and summed over the s axes
  Resize: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    const scales = ctx.maybeX(2) && g.constantValue(ctx.x(2));
    const s = scales ? Array.from(scales.data, Number) : [];
    const integral = s.length === x.shape.length && s.every((v, i) => Number.isInteger(v) && v >= 1 && (i >= 2 || v === 1));
    if (ctx.string('mode', 'nearest') !== 'nearest' || !integral) {
      throw new EngineError('unsupported_op', 'Resize gradient: only nearest mode with constant integer scales on the spatial dims');
    }
    const spatial = staticDims(x, 2, 'Resize gradient');
    const dx = (): TensorRef => {
      const blocks = g.op('Reshape', [
        dy,
        g.ints([-1, ...x.shape.slice(1, 2).map((c) => (typeof c === 'number' ? c : 0)), ...spatial.flatMap((d, i) => [d, s[i + 2]!])]),
      ]);
      const axes = spatial.map((_, i) => 3 + 2 * i);
      return reshapeLike(g, g.op('ReduceSum', [blocks, g.ints(axes)], { keepdims: 0 }), x);
    };
    return [dx, undefined, undefined, undefined];
  },

  // y = window max: dx = scatter-add of dy at the argmax positions (MaxPool's Indices output, flat over N·C·H·W)
  MaxPool: (ctx) => {
    const { g, dy } = ctx;
    const x = ctx.x(0);
    const indices = ctx.maybeY(1);
    if (!indices) throw new EngineError('unsupported_op', 'MaxPool gradient: build the MaxPool with its Indices output (train mode)');
    if (ctx.int('storage_order', 0) !== 0) throw new EngineError('unsupported_op', 'MaxPool gradient: storage_order must be 0');
    const dx = (): TensorRef => {
      const flat = (t: TensorRef): TensorRef => g.op('Reshape', [t, g.ints([-1])]);
      const fx = flat(x);
      const scattered = g.op('ScatterElements', [zerosLike(g, fx), flat(indices), flat(dy)], { axis: 0, reduction: 'add' });
      return reshapeLike(g, scattered, x);
    };
    return [dx];
  },
};
