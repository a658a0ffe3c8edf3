// Finite-difference proofs of Conv and pooling rules. ORT's CPU Conv, ConvTranspose, AveragePool and
// GlobalAveragePool have float32 kernels only, so these run in float32. Conv is linear in X and in W, so a
// large step (0.1) has no truncation error and keeps float32 rounding small: tolerance 1e-4 (measured ≤ 2e-6).
import { describe, expect, it } from 'vitest';

import { Graph } from '../../graph.js';
import * as ops from '../../ops/index.js';
import { assertGradients, type GradCheckSpec } from '../../testing/gradcheck.js';
import { gradients } from '../gradients.js';
import { type ConvWeightGradStrategy, setConvWeightGradStrategy } from './conv.js';

const F32 = 1e-4;
const conv = (x: number[], w: number[], opts: ops.ConvOptions, bias = true): GradCheckSpec => ({
  dtype: 'float32',
  eps: 0.1,
  maxElements: 24,
  inputs: { x: { shape: x }, w: { shape: w }, ...(bias ? { b: { shape: [w[0]!] } } : {}) },
  build: (g, t) => ops.conv2d(g, t.x!, t.w!, t.b, opts),
});

const cases: [string, GradCheckSpec, number][] = [
  ['Conv 3×3, pad 1', conv([2, 3, 5, 5], [4, 3, 3, 3], { padding: 1 }), F32],
  ['Conv stride 2, extent not divisible (sliced weight grad)', conv([2, 2, 6, 7], [3, 2, 3, 3], { stride: 2, padding: 1 }), F32],
  ['Conv 4×4 patchify, stride 4 (ViT stem)', conv([2, 3, 8, 8], [5, 3, 4, 4], { stride: 4 }), F32],
  ['Conv dilation 2', conv([1, 2, 7, 7], [3, 2, 3, 3], { dilation: 2, padding: 2 }), F32],
  ['Conv stride 1, dilation [1, 2], asymmetric pads (flipped-kernel dX)', conv([2, 2, 6, 7], [3, 2, 3, 3], { dilation: [1, 2], padding: [0, 1, 2, 3] }), F32],
  ['Conv 2×3 stride 1, asymmetric pads', conv([2, 2, 6, 7], [3, 2, 2, 3], { padding: [0, 1, 2, 0] }), F32],
  ['Conv 3×3 stride 1, no pads', conv([1, 2, 5, 6], [2, 2, 3, 3], {}), F32],
  ['Conv 1×1 (weight grad without slices)', conv([2, 5, 4, 3], [3, 5, 1, 1], {}), F32],
  ['Conv 1×1 stride 2 (one strided slice)', conv([2, 3, 5, 6], [4, 3, 1, 1], { stride: 2 }), F32],
  ['Conv 3×3 stride 2 pad 1, even extent', conv([2, 3, 8, 6], [4, 3, 3, 3], { stride: 2, padding: 1 }), F32],
  ['Conv 4×4 stride 2, asymmetric pads', conv([1, 2, 9, 8], [3, 2, 4, 4], { stride: 2, padding: [2, 1, 0, 3] }), F32],
  ['Conv 3×3 stride 3 pad 2', conv([2, 2, 8, 10], [3, 2, 3, 3], { stride: 3, padding: 2 }), F32],
  ['Conv 3×3 stride 3, last rows never read (cropped)', conv([1, 2, 10, 11], [2, 2, 3, 3], { stride: 3 }), F32],
  ['Conv 3×3 stride 2, dilation 2', conv([1, 2, 11, 9], [2, 2, 3, 3], { stride: 2, dilation: 2, padding: 1 }), F32],
  ['Conv groups 2', conv([2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, padding: 1 }), F32],
  ['Conv depthwise (groups = C)', conv([2, 3, 5, 5], [3, 1, 3, 3], { groups: 3, padding: 1 }, false), F32],
  [
    'Conv groups 2 + dilation 2 + stride 2 + asymmetric pads',
    conv([2, 4, 9, 8], [4, 2, 3, 2], { groups: 2, dilation: [2, 1], stride: [2, 3], padding: [1, 0, 2, 1] }),
    F32,
  ],
  [
    'ConvTranspose stride 2, output_padding 1',
    {
      dtype: 'float32',
      eps: 0.1,
      maxElements: 24,
      inputs: { x: { shape: [2, 4, 3, 3] }, w: { shape: [4, 3, 3, 3] }, b: { shape: [3] } },
      build: (g, t) => ops.convTranspose2d(g, t.x!, t.w!, t.b, { stride: 2, padding: 1, outputPadding: 1 }),
    },
    F32,
  ],
  [
    'ConvTranspose groups 2, dilation 2',
    {
      dtype: 'float32',
      eps: 0.1,
      maxElements: 24,
      inputs: { x: { shape: [2, 4, 4, 4] }, w: { shape: [4, 1, 2, 3] } },
      build: (g, t) => ops.convTranspose2d(g, t.x!, t.w!, undefined, { groups: 2, dilation: 2, padding: [1, 0, 0, 1] }),
    },
    F32,
  ],
  ['MaxPool 2×2', { dtype: 'float32', eps: 1e-3, inputs: { x: { shape: [2, 2, 4, 4] } }, build: (g, t) => ops.maxPool2d(g, t.x!, { kernel: 2 }) }, 1e-3],
  [
    'MaxPool 3×3 stride 2 pad 1 (overlapping windows)',
    { dtype: 'float32', eps: 1e-3, inputs: { x: { shape: [1, 2, 5, 5] } }, build: (g, t) => ops.maxPool2d(g, t.x!, { kernel: 3, stride: 2, padding: 1 }) },
    1e-3,
  ],
  [
    'MaxPool 5×5 stride 1 pad 2 (SPPF), chained twice',
    {
      dtype: 'float32',
      eps: 1e-3,
      inputs: { x: { shape: [1, 2, 6, 6] } },
      build: (g, t) => ops.maxPool2d(g, ops.maxPool2d(g, t.x!, { kernel: 5, stride: 1, padding: 2 }), { kernel: 5, stride: 1, padding: 2 }),
    },
    1e-3,
  ],
  // ORT's CPU Resize has no double kernel; nearest upsampling is linear, so a large step is exact.
  [
    'Resize nearest 2× (PAN neck upsample)',
    { dtype: 'float32', eps: 0.1, inputs: { x: { shape: [2, 3, 3, 4] } }, build: (g, t) => ops.upsampleNearest(g, t.x!, 2) },
    F32,
  ],
  [
    'Resize nearest 3×, then a non-uniform weighting',
    {
      dtype: 'float32',
      eps: 0.1,
      inputs: { x: { shape: [1, 2, 2, 3] }, w: { shape: [1, 2, 6, 9] } },
      build: (g, t) => ops.mul(g, ops.upsampleNearest(g, t.x!, 3), t.w!),
    },
    F32,
  ],
  [
    'AveragePool 3×3 stride 2 pad 1',
    { dtype: 'float32', eps: 0.1, inputs: { x: { shape: [2, 2, 5, 6] } }, build: (g, t) => ops.avgPool2d(g, t.x!, { kernel: 3, stride: 2, padding: 1 }) },
    F32,
  ],
  ['GlobalAveragePool', { dtype: 'float32', eps: 0.1, inputs: { x: { shape: [2, 3, 4, 4] } }, build: (g, t) => ops.globalAvgPool(g, t.x!) }, F32],
];

describe('conv gradient rules', () => {
  it.each(cases)('%s', async (name, spec, tol) => {
    await assertGradients(spec, tol, name);
  });

  // Both weight-gradient formulations stay exact on every Conv/ConvTranspose case ('auto' above picks one per shape).
  const forced = cases.filter(([name]) => name.startsWith('Conv'));
  it.each((['im2col', 'batched'] as ConvWeightGradStrategy[]).flatMap((s) => forced.map(([name, spec, tol]) => [s, name, spec, tol] as const)))(
    'weight grad forced to %s: %s',
    async (strategy, name, spec, tol) => {
      const prev = setConvWeightGradStrategy(strategy);
      try {
        await assertGradients(spec, tol, `${name} (${strategy})`);
      } finally {
        setConvWeightGradStrategy(prev);
      }
    },
  );

  const backwardOps = (opts: ops.ConvOptions, wShape: number[]): string[] => {
    const g = new Graph('conv', { mode: 'train' });
    const x = g.input('x', 'float32', ['batch', 4, 8, 8]);
    const w = g.input('w', 'float32', wShape);
    const loss = ops.reduceSum(g, ops.conv2d(g, x, w, undefined, opts));
    const before = g.nodes().length;
    const grads = gradients(g, loss, [x, w]);
    expect(grads.get('x')!.shape).toEqual(['batch', 4, 8, 8]);
    expect(grads.get('w')!.shape).toEqual(wShape);
    return g
      .nodes()
      .slice(before)
      .map((n) => n.opType);
  };
  const count = (list: string[], op: string): number => list.filter((t) => t === op).length;

  it('strided conv with groups: dX is one ConvTranspose, dW the channel-major im2col product (a batched MatMul)', () => {
    const added = backwardOps({ groups: 2, stride: 2, padding: 1 }, [6, 2, 3, 3]);
    expect(count(added, 'ConvTranspose')).toBe(1);
    expect(count(added, 'Conv')).toBe(0);
    expect(count(added, 'MatMul')).toBe(1);
    expect(count(added, 'Slice')).toBe(9);
  });

  it('stride-1 conv: dX is a Conv with the flipped kernel; dW one batched MatMul over per-image cols, X and dY not transposed', () => {
    const added = backwardOps({ padding: 1 }, [5, 4, 3, 3]);
    expect(count(added, 'ConvTranspose')).toBe(0);
    expect(count(added, 'Conv')).toBe(1);
    expect(count(added, 'Gemm')).toBe(0);
    expect(count(added, 'MatMul')).toBe(1);
    expect(count(added, 'Slice')).toBe(9 + 1); // 9 windows + the kernel flip of dX
    expect(count(added, 'Transpose')).toBe(2); // the kernel's channel swap (dX) and colsᵀ (fused into the MatMul by ORT)
  });

  it('1×1 stride-1 conv: dW reads X as it is (no slices, no concat)', () => {
    const added = backwardOps({}, [5, 4, 1, 1]);
    expect(count(added, 'Slice')).toBe(1); // dX's kernel flip only
    expect(count(added, 'Concat')).toBe(0);
    expect(count(added, 'MatMul')).toBe(1);
  });

  it('the im2col formulation can still be forced: one Gemm over channel-major cols', () => {
    const prev = setConvWeightGradStrategy('im2col');
    try {
      const added = backwardOps({ padding: 1 }, [5, 4, 3, 3]);
      expect(count(added, 'Gemm')).toBe(1);
      expect(count(added, 'MatMul')).toBe(0);
    } finally {
      setConvWeightGradStrategy(prev);
    }
  });

  it('Resize gradient keeps a symbolic batch', () => {
    const g = new Graph('resize', { mode: 'train' });
    const x = g.input('x', 'float32', ['batch', 4, 3, 5]);
    const y = ops.upsampleNearest(g, x, 2);
    expect(y.shape).toEqual(['batch', 4, 6, 10]);
    expect(gradients(g, ops.reduceSum(g, y), [x]).get('x')!.shape).toEqual(['batch', 4, 3, 5]);
  });

  it('non-overlapping patches: im2col is a Reshape + Transpose (no window slices, no concat)', () => {
    const added = backwardOps({ stride: 2 }, [5, 4, 2, 2]);
    expect(count(added, 'Slice')).toBe(0);
    expect(count(added, 'Concat')).toBe(0);
    expect(count(added, 'Gemm')).toBe(1);
  });
});
