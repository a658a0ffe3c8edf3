// Vector-Jacobian rules of Conv and pooling (any spatial rank; explicit pads). For Y = Conv(X, W), stride s,
// pads (pb, pe), dilation d, groups G, X [N, C, H…], W [M, C/G, K…], Y [N, M, OH…]:
//   dX = ConvTranspose(dY, W; s, pads, d, G, output_padding = H + pb + pe − (s·(OH−1) + d·(K−1) + 1))
//   dW[m, c, k] = Σ_n Σ_o dY[n, m, o]·Xpad[n, G(m)·C/G + c, o·s + k·d]: one Conv whose "batch" is X's channel
//     (within a group) and whose reduction runs over the images: input I[c, (G, N), H…] = X regrouped,
//     kernel dYᵀ [M, N, OH…], group G, stride d, dilation s, same pads → [C/G, M, K'…], sliced to K, transposed.
//   dB = Σ dY over N and spatial dims.
import { EngineError } from '../../errors.js';
import type { TensorRef } from '../../graph.js';
import { expandLike, reshapeLike, zerosLike } from '../helpers.js';
import { type GradContext, registerGradient } from '../registry.js';

interface ConvGeometry { r: number; strides: number[]; pads: number[]; dilations: number[]; group: number; kernel: number[] }

function geometry(ctx: GradContext, kernel: readonly number[]): ConvGeometry {
  const r = kernel.length;
  if (ctx.string('auto_pad', 'NOTSET') !== 'NOTSET') throw new EngineError('unsupported_op', `${ctx.opType} gradient: auto_pad is not supported, give explicit pads`);
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
  if (!dims.every((d): d is number => typeof d === 'number')) throw new EngineError('unsupported_op', `${what}: spatial dims must be static, got [${t.shape.join(', ')}]`);
  return dims;
}

/** output_padding that makes a ConvTranspose of `out` give back the spatial size `input`. */
function outputPadding(geo: ConvGeometry, input: number[], out: number[]): number[] {
  return input.map((h, i) => h + geo.pads[i]! + geo.pads[i + geo.r]! - (geo.strides[i]! * (out[i]! - 1) + geo.dilations[i]! * (geo.kernel[i]! - 1) + 1));
}

registerGradient('Conv', (ctx) => {
  const { g, dy, needs } = ctx;
  const [x, w, b] = [ctx.x(0), ctx.x(1), ctx.inputs[2]];
  const geo = geometry(ctx, staticDims(w, 2, 'Conv gradient'));
  const spatialIn = staticDims(x, 2, 'Conv gradient');
  const spatialOut = staticDims(dy, 2, 'Conv gradient');
  const { r, group } = geo;
  const perm01 = [1, 0, ...Array.from({ length: r }, (_, i) => i + 2)];
  let dx: TensorRef | undefined;
  let dw: TensorRef | undefined;
  if (needs[0]) {
    const op = outputPadding(geo, spatialIn, spatialOut);
    dx = g.op('ConvTranspose', [dy, w], {
      kernel_shape: geo.kernel, strides: geo.strides, pads: geo.pads, dilations: geo.dilations, group,
      ...(op.some((v) => v !== 0) ? { output_padding: op } : {}),
    });
  }
  if (needs[1]) {
    const c = x.shape[1] as number;
    const cg = c / group;
    // I[c', (G, N), H…] = X[n, G·C/G + c', H…]
    let input: TensorRef;
    if (group === 1) input = g.op('Transpose', [x], { perm: perm01 });
    else {
      const split = g.op('Reshape', [x, g.ints([-1, group, cg, ...spatialIn])]);
      const moved = g.op('Transpose', [split], { perm: [2, 1, 0, ...Array.from({ length: r }, (_, i) => i + 3)] });
      input = g.op('Reshape', [moved, g.ints([cg, -1, ...spatialIn])]);
    }
    const kernel = g.op('Transpose', [dy], { perm: perm01 });
    let z = g.op('Conv', [input, kernel], { kernel_shape: spatialOut, strides: geo.dilations, dilations: geo.strides, pads: geo.pads, group });
    const extent = staticDims(z, 2, 'Conv gradient');
    if (extent.some((e, i) => e !== geo.kernel[i])) {
      // The window count exceeds K when (H + pads − d·(K−1) − 1) is not a multiple of s.
      const axes = Array.from({ length: r }, (_, i) => i + 2);
      z = g.op('Slice', [z, g.ints(axes.map(() => 0)), g.ints(geo.kernel), g.ints(axes)]);
    }
    dw = g.op('Transpose', [z], { perm: perm01 });
  }
  const db = b && needs[2] ? g.op('ReduceSum', [dy, g.ints([0, ...Array.from({ length: r }, (_, i) => i + 2)])], { keepdims: 0 }) : undefined;
  return [dx, dw, db];
});

// y = mean over H…: dx = broadcast(dy) / (H·W…)
registerGradient('GlobalAveragePool', ({ g, dy, inputs: [x] }) => {
  const n = staticDims(x!, 2, 'GlobalAveragePool gradient').reduce((a, b) => a * b, 1);
  return [expandLike(g, g.op('Div', [dy, g.scalar(n, dy)]), x!)];
});

// y = window mean (padded cells counted): dx = ConvTranspose of dy with a constant 1/|window| kernel, per channel
registerGradient('AveragePool', (ctx) => {
  const { g, dy } = ctx;
  const x = ctx.x(0);
  const geo = geometry(ctx, ctx.ints('kernel_shape') ?? []);
  if (ctx.int('ceil_mode', 0) || (!ctx.int('count_include_pad', 0) && geo.pads.some((p) => p !== 0))) {
    throw new EngineError('unsupported_op', 'AveragePool gradient: needs ceil_mode 0, and count_include_pad 1 when padded');
  }
  const c = x.shape[1];
  if (typeof c !== 'number') throw new EngineError('unsupported_op', 'AveragePool gradient: the channel dim must be static');
  const size = geo.kernel.reduce((a, b) => a * b, 1);
  const kernel = g.constant(new Array<number>(c * size).fill(1 / size), [c, 1, ...geo.kernel], dy.dtype);
  const op = outputPadding(geo, staticDims(x, 2, 'AveragePool gradient'), staticDims(dy, 2, 'AveragePool gradient'));
  return [g.op('ConvTranspose', [dy, kernel], {
    kernel_shape: geo.kernel, strides: geo.strides, pads: geo.pads, group: c,
    ...(op.some((v) => v !== 0) ? { output_padding: op } : {}),
  })];
});

// y = window max: dx = scatter-add of dy at the argmax positions (MaxPool's Indices output, flat over N·C·H·W)
registerGradient('MaxPool', (ctx) => {
  const { g, dy } = ctx;
  const x = ctx.x(0);
  const indices = ctx.outputs[1];
  if (!indices) throw new EngineError('unsupported_op', 'MaxPool gradient: build the MaxPool with its Indices output (train mode)');
  if (ctx.int('storage_order', 0) !== 0) throw new EngineError('unsupported_op', 'MaxPool gradient: storage_order must be 0');
  const flat = (t: TensorRef): TensorRef => g.op('Reshape', [t, g.ints([-1])]);
  const fx = flat(x);
  const scattered = g.op('ScatterElements', [zerosLike(g, fx), flat(indices), flat(dy)], { axis: 0, reduction: 'add' });
  return [reshapeLike(g, scattered, x)];
});
