// FLOP counts from a graph's nodes and shapes, against hand-computed figures: a conv, a batched MatMul, a Gemm
// with transA, a grouped conv (a whole ViT: src/models/vit-flops.test.ts).
import { describe, expect, it } from 'vitest';

import { graphFlops } from './flops.js';
import { Graph } from './graph.js';
import { gemm, matmul, reshape } from './ops/index.js';
import { conv2d } from './ops/index.js';

describe('graphFlops', () => {
  it('counts 2 FLOPs per multiply-accumulate of Conv, MatMul and Gemm, with the batch bound', () => {
    const g = new Graph('t', { mode: 'eval' });
    const x = g.input('x', 'float32', ['batch', 3, 8, 8]);
    const w = g.constant(new Float32Array(4 * 3 * 3 * 3), [4, 3, 3, 3]);
    const y = conv2d(g, x, w, undefined, { padding: 1 }); // [batch, 4, 8, 8]
    const flat = reshape(g, y, [-1, 4, 64]);
    matmul(g, flat, g.constant(new Float32Array(64 * 10), [64, 10])); // [batch, 4, 10]
    gemm(g, g.constant(new Float32Array(10), [5, 2]), g.constant(new Float32Array(35), [5, 7]), undefined, { transA: true }); // [2, 7], K 5
    const one = graphFlops(g, { batch: 1 });
    expect(one.byOp).toEqual({ Conv: 2 * (4 * 8 * 8) * (3 * 9), MatMul: 2 * (4 * 10) * 64, Gemm: 2 * 2 * 7 * 5 });
    expect(one.total).toBe(13_824 + 5_120 + 140);
    const four = graphFlops(g, { batch: 4 });
    expect(four.byOp.Conv).toBe(4 * 13_824);
    expect(four.byOp.MatMul).toBe(4 * 5_120);
    expect(() => graphFlops(g)).toThrow(/symbolic dimension 'batch'/);
  });

  it('divides a grouped convolution by its groups', () => {
    const g = new Graph('t', { mode: 'eval' });
    const x = g.input('x', 'float32', [1, 8, 4, 4]);
    conv2d(g, x, g.constant(new Float32Array(8 * 2 * 9), [8, 2, 3, 3]), undefined, { padding: 1, groups: 4 });
    expect(graphFlops(g).total).toBe(2 * (8 * 16) * (2 * 9));
  });
});
