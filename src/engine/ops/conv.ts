// Convolution and pooling: Conv, ConvTranspose (any spatial rank, groups, dilation, explicit pads),
// MaxPool, AveragePool, GlobalAveragePool; nearest upsampling (Resize with integer scales). The helpers always emit explicit pads (never auto_pad).
import { EngineError } from '../errors.js';
import type { Dim, Graph, TensorRef } from '../graph.js';
import { type InferCtx, registerShape } from './registry.js';

interface Window {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
}

function windowAttrs(ctx: InferCtx, kernel: readonly number[]): Window {
  const r = kernel.length;
  const autoPad = ctx.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw ctx.error(`auto_pad ${autoPad} is not supported: give explicit pads`);
  const w = {
    kernel: [...kernel],
    strides: [...(ctx.ints('strides') ?? Array<number>(r).fill(1))],
    pads: [...(ctx.ints('pads') ?? Array<number>(2 * r).fill(0))],
    dilations: [...(ctx.ints('dilations') ?? Array<number>(r).fill(1))],
  };
  if (w.strides.length !== r || w.pads.length !== 2 * r || w.dilations.length !== r) throw ctx.error(`strides/pads/dilations do not match ${r} spatial dims`);
  return w;
}

/** floor((in + pads - dilation·(k-1) - 1) / stride) + 1, or ceil with ceil_mode. */
function windowOut(ctx: InferCtx, input: Dim, i: number, w: Window, ceil = false): Dim {
  if (typeof input !== 'number') return ctx.unknownDim();
  const r = w.kernel.length;
  const span = (w.dilations[i] as number) * ((w.kernel[i] as number) - 1) + 1;
  const room = input + (w.pads[i] as number) + (w.pads[i + r] as number) - span;
  if (room < 0) throw ctx.error(`spatial dim ${i} (${input}) is smaller than the kernel extent ${span}`);
  const q = room / (w.strides[i] as number);
  return (ceil ? Math.ceil(q) : Math.floor(q)) + 1;
}

registerShape('Conv', (ctx) => {
  const [x, w, b] = [ctx.input(0), ctx.input(1), ctx.optional(2)];
  if (x.shape.length < 3 || w.shape.length !== x.shape.length) throw ctx.error('X must be [N, C, spatial…] and W [M, C/group, kernel…] of the same rank');
  const group = ctx.int('group', 1);
  const [m, cg] = [w.shape[0], w.shape[1]];
  const c = x.shape[1];
  if (typeof c === 'number' && typeof cg === 'number' && c !== cg * group) throw ctx.error(`input channels ${c} != W channels ${cg} × group ${group}`);
  if (typeof m === 'number' && m % group !== 0) throw ctx.error(`output channels ${m} are not divisible by group ${group}`);
  if (b && (b.shape.length !== 1 || b.shape[0] !== m)) throw ctx.error(`bias must be [${m}]`);
  const kernel = w.shape.slice(2);
  if (!kernel.every((k): k is number => typeof k === 'number')) throw ctx.error('the kernel must be static');
  const win = windowAttrs(ctx, ctx.ints('kernel_shape') ?? kernel);
  const spatial = x.shape.slice(2).map((d, i) => windowOut(ctx, d, i, win));
  return [{ dtype: x.dtype, shape: [x.shape[0] as Dim, m as Dim, ...spatial] }];
});

registerShape('ConvTranspose', (ctx) => {
  const [x, w] = [ctx.input(0), ctx.input(1)];
  if (x.shape.length < 3 || w.shape.length !== x.shape.length) throw ctx.error('X must be [N, C, spatial…] and W [C, M/group, kernel…]');
  const group = ctx.int('group', 1);
  if (typeof x.shape[1] === 'number' && x.shape[1] !== w.shape[0]) throw ctx.error(`input channels ${x.shape[1]} != W dim 0 (${w.shape[0]})`);
  const kernel = w.shape.slice(2) as number[];
  const win = windowAttrs(ctx, kernel);
  const r = kernel.length;
  const outPad = ctx.ints('output_padding') ?? Array<number>(r).fill(0);
  const explicit = ctx.ints('output_shape');
  const spatial = x.shape.slice(2).map((d, i) => {
    if (explicit) return explicit[explicit.length - r + i] as number;
    if (typeof d !== 'number') return ctx.unknownDim();
    return (
      (win.strides[i] as number) * (d - 1) +
      (outPad[i] as number) +
      (win.dilations[i] as number) * ((kernel[i] as number) - 1) +
      1 -
      (win.pads[i] as number) -
      (win.pads[i + r] as number)
    );
  });
  const m = w.shape[1];
  return [{ dtype: x.dtype, shape: [x.shape[0] as Dim, typeof m === 'number' ? m * group : ctx.unknownDim(), ...spatial] }];
});

registerShape(['MaxPool', 'AveragePool'], (ctx) => {
  const x = ctx.input(0);
  const kernel = ctx.ints('kernel_shape');
  if (!kernel || kernel.length !== x.shape.length - 2) throw ctx.error('kernel_shape must give every spatial dim');
  const win = windowAttrs(ctx, kernel);
  const ceil = ctx.int('ceil_mode', 0) === 1;
  const spatial = x.shape.slice(2).map((d, i) => windowOut(ctx, d, i, win, ceil));
  const out = { dtype: x.dtype, shape: [x.shape[0] as Dim, x.shape[1] as Dim, ...spatial] };
  return ctx.opType === 'MaxPool' ? [out, { ...out, dtype: 'int64' as const }] : [out];
});

registerShape(['GlobalAveragePool', 'GlobalMaxPool'], (ctx) => {
  const x = ctx.input(0);
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i < 2 ? d : 1)) }];
});

// Resize with constant scales (input 2; roi and sizes omitted): every dim × its scale, floored as ONNX does.
registerShape('Resize', (ctx) => {
  const x = ctx.input(0);
  if (ctx.optional(3)) throw ctx.error('give scales, not sizes');
  const scales = ctx.g.constantValue(ctx.input(2));
  if (!scales || scales.data.length !== x.shape.length) throw ctx.error(`scales must be a constant with one value per dim (${x.shape.length})`);
  const sc = Array.from(scales.data, Number);
  const shape = x.shape.map((d, i) => (sc[i] === 1 ? d : typeof d === 'number' ? Math.floor(d * (sc[i] as number)) : ctx.unknownDim()));
  return [{ dtype: x.dtype, shape }];
});

// ---- functional helpers ----------------------------------------------------------------------------

type PerDim = number | readonly number[];

export interface ConvOptions {
  stride?: PerDim;
  padding?: PerDim;
  dilation?: PerDim;
  groups?: number;
}

const perDim = (v: PerDim | undefined, r: number, dflt: number): number[] =>
  v === undefined ? Array<number>(r).fill(dflt) : typeof v === 'number' ? Array<number>(r).fill(v) : [...v];

function convAttrs(w: TensorRef, opts: ConvOptions): Record<string, number | number[]> {
  const kernel = w.shape.slice(2) as number[];
  const r = kernel.length;
  const pad = perDim(opts.padding, r, 0);
  return {
    kernel_shape: kernel,
    strides: perDim(opts.stride, r, 1),
    pads: pad.length === 2 * r ? pad : [...pad, ...pad],
    dilations: perDim(opts.dilation, r, 1),
    group: opts.groups ?? 1,
  };
}

/** Cross-correlation as PyTorch's Conv2d: x [N, C, H, W], w [M, C/groups, kH, kW], b [M]. */
export function conv2d(g: Graph, x: TensorRef, w: TensorRef, b?: TensorRef, opts: ConvOptions = {}): TensorRef {
  return g.op('Conv', [x, w, b], convAttrs(w, opts));
}

/** Transposed convolution: w [C, M/groups, kH, kW]; `outputPadding` resolves the output size when stride > 1. */
export function convTranspose2d(g: Graph, x: TensorRef, w: TensorRef, b?: TensorRef, opts: ConvOptions & { outputPadding?: PerDim } = {}): TensorRef {
  const attrs = convAttrs(w, opts);
  const r = w.shape.length - 2;
  const op = perDim(opts.outputPadding, r, 0);
  return g.op('ConvTranspose', [x, w, b], op.some((v) => v !== 0) ? { ...attrs, output_padding: op } : attrs);
}

export interface PoolOptions {
  kernel: PerDim;
  stride?: PerDim;
  padding?: PerDim;
}

function poolAttrs(x: TensorRef, opts: PoolOptions): Record<string, number[]> {
  const r = x.shape.length - 2;
  const kernel = perDim(opts.kernel, r, 1);
  const pad = perDim(opts.padding, r, 0);
  return { kernel_shape: kernel, strides: perDim(opts.stride ?? opts.kernel, r, 1), pads: pad.length === 2 * r ? pad : [...pad, ...pad] };
}

/** Max pooling; in train mode the argmax indices (output 1) are kept for the gradient. */
export function maxPool2d(g: Graph, x: TensorRef, opts: PoolOptions): TensorRef {
  return g.node('MaxPool', [x], poolAttrs(x, opts), g.mode === 'train' ? 2 : 1)[0] as TensorRef;
}

/** Average pooling; padded cells count in the mean by default (PyTorch's count_include_pad = True; ONNX's default is 0). */
export function avgPool2d(g: Graph, x: TensorRef, opts: PoolOptions & { countIncludePad?: boolean }): TensorRef {
  return g.op('AveragePool', [x], { ...poolAttrs(x, opts), count_include_pad: opts.countIncludePad === false ? 0 : 1 });
}

export function globalAvgPool(g: Graph, x: TensorRef): TensorRef {
  return g.op('GlobalAveragePool', [x]);
}

/**
 * Nearest-neighbour upsampling of the spatial dims by an integer factor (PyTorch's nn.Upsample(scale_factor, 'nearest')):
 * one Resize node with the attributes torch.onnx exports for it.
 */
export function upsampleNearest(g: Graph, x: TensorRef, factor: number): TensorRef {
  if (!Number.isInteger(factor) || factor < 1) throw new EngineError('invalid_argument', `upsampleNearest: factor must be a positive integer, got ${factor}`);
  const scales = g.constant(
    x.shape.map((_, i) => (i < 2 ? 1 : factor)),
    [x.shape.length],
    'float32',
  );
  return g.op('Resize', [x, undefined, scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
}
