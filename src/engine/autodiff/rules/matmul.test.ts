// Finite-difference proofs of MatMul (every rank/broadcast case) and Gemm (all transpose combinations).
import { describe, expect, it } from 'vitest';

import { Graph } from '../../graph.js';
import * as ops from '../../ops/index.js';
import { assertGradients, type GradCheckSpec } from '../../testing/gradcheck.js';
import { gradients } from '../gradients.js';

const F64 = 1e-6;
const mm = (a: number[], b: number[]): GradCheckSpec => ({ inputs: { a: { shape: a }, b: { shape: b } }, build: (g, x) => ops.matmul(g, x.a!, x.b!) });
const gemm = (tA: boolean, tB: boolean, c: number[] | undefined, alpha = 1, beta = 1): GradCheckSpec => ({
  inputs: { a: { shape: tA ? [4, 3] : [3, 4] }, b: { shape: tB ? [5, 4] : [4, 5] }, ...(c ? { c: { shape: c } } : {}) },
  build: (g, x) => ops.gemm(g, x.a!, x.b!, x.c, { transA: tA, transB: tB, alpha, beta }),
});

const cases: [string, GradCheckSpec, number][] = [
  ['MatMul 2-D × 2-D', mm([3, 4], [4, 5]), F64],
  ['MatMul tokens × weight (3-D × 2-D)', mm([2, 3, 4], [4, 5]), F64],
  ['MatMul batched attention (4-D × 4-D)', mm([2, 2, 3, 4], [2, 2, 4, 3]), F64],
  ['MatMul broadcast batch dims', mm([2, 1, 3, 4], [3, 4, 2]), F64],
  ['MatMul 2-D × 3-D (left broadcast)', mm([3, 4], [2, 4, 5]), F64],
  ['MatMul vector × matrix', mm([4], [2, 4, 5]), F64],
  ['MatMul matrix × vector', mm([2, 3, 4], [4]), F64],
  ['MatMul vector · vector', mm([4], [4]), F64],
  ['Gemm', gemm(false, false, [5]), F64],
  ['Gemm transA', gemm(true, false, [3, 1]), F64],
  ['Gemm transB (PyTorch Linear layout)', gemm(false, true, [3, 5]), F64],
  ['Gemm transA transB, alpha, beta', gemm(true, true, [5], 0.5, 2), F64],
  ['Gemm without C', gemm(false, true, undefined, 1.5), F64],
];

describe('matmul gradient rules', () => {
  it.each(cases)('%s', async (name, spec, tol) => {
    await assertGradients(spec, tol, name);
  });

  it('uses one Gemm (no batched MatMul + ReduceSum) for a token-batched weight gradient', () => {
    const g = new Graph('lean', { mode: 'train' });
    const x = g.input('x', 'float32', ['batch', 16, 8]);
    const w = g.param('w', [8, 4], { description: 'zeros', fill: (s) => new Float64Array(s[0]! * s[1]!) });
    const loss = ops.reduceSum(g, ops.matmul(g, x, w));
    const before = g.nodes().length;
    const dw = gradients(g, loss, [w]).get('w')!;
    const added = g
      .nodes()
      .slice(before)
      .map((n) => n.opType);
    expect(dw.shape).toEqual([8, 4]);
    expect(added).toContain('Gemm');
    expect(added).not.toContain('MatMul');
    expect(added.filter((t) => t === 'ReduceSum')).toHaveLength(0);
  });
});
