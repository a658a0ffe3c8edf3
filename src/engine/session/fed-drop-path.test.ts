// Drop path (stochastic depth) on a residual branch y = x + dropPath(f(x)): the noise input is one byte per sample,
// a sample's branch is dropped whole or kept and scaled by 1/(1 − p); the backward graph is proven by a float64
// finite-difference check with the mask fixed; in eval mode the op is the identity (no noise input at all).
import { describe, expect, it } from 'vitest';

import { Graph, type TensorRef } from '../graph.js';
import * as ops from '../ops/index.js';
import { assertGradients } from '../testing/gradcheck.js';
import { OrtRunner } from '../testing/ort.js';
import { fedDropPath, noiseInputs } from './fed-dropout.js';

const B = 4;
const SHAPE = [B, 3, 5];
// Rate 0.25 → k = 64: a sample is kept when its noise byte is ≥ 64, so samples 1 and 3 keep their branch.
const NOISE = Uint8Array.from([10, 200, 63, 64]);
const KEPT = [false, true, false, true];

/** A residual block with a nonlinear branch: x + dropPath(tanh(x·W)). */
function residual(g: Graph, x: TensorRef, w: TensorRef): TensorRef {
  return ops.add(g, x, fedDropPath(g, g.op('Tanh', [ops.matmul(g, x, w)]), 0.25));
}

describe('fedDropPath', () => {
  it('declares one noise byte per sample, broadcast over the rest of the sample', () => {
    const g = new Graph('dp', { mode: 'train' });
    fedDropPath(g, g.input('x', 'float32', ['batch', 7, 5]), 0.1);
    expect(noiseInputs(g).map((t) => [t.name, t.dtype, t.shape])).toEqual([['noise.drop_path.0', 'uint8', ['batch', 1, 1]]]);
    expect(() => fedDropPath(g, g.input('y', 'float32', [2, 3]), 1)).toThrow(/drop_path ratio must be in \[0, 1\)/);
  });

  it('drops a sample branch whole or keeps it scaled by 1/(1 − p)', async () => {
    const g = new Graph('dp', { mode: 'train' });
    const x = g.input('x', 'float64', SHAPE);
    const branch = g.input('f', 'float64', SHAPE);
    const y = g.output(ops.add(g, x, fedDropPath(g, branch, 0.25)));
    const n = SHAPE.reduce((a, b) => a * b, 1);
    const xs = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const fs = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.3));
    const runner = await OrtRunner.create(g.toModelProto());
    const out = await runner.run({
      x: { dtype: 'float64', dims: SHAPE, data: xs },
      f: { dtype: 'float64', dims: SHAPE, data: fs },
      'noise.drop_path.0': { dtype: 'uint8', dims: [B, 1, 1], data: NOISE },
    });
    await runner.release();
    const got = out[y.name]!.data as Float64Array;
    const per = n / B;
    for (let i = 0; i < n; i++) {
      const want = KEPT[Math.floor(i / per)] ? xs[i]! + fs[i]! / 0.75 : xs[i]!;
      expect(got[i]).toBeCloseTo(want, 14);
    }
  });

  it('gradients of x + dropPath(tanh(x·W)) match finite differences (float64, fixed mask)', async () => {
    await assertGradients(
      {
        inputs: { x: { shape: SHAPE }, w: { shape: [5, 5] } },
        feeds: { 'noise.drop_path.0': { dtype: 'uint8', dims: [B, 1, 1], data: NOISE } },
        build: (g, t) => residual(g, t.x!, t.w!),
      },
      1e-6,
      'drop path',
    );
  });

  it('is the identity in eval mode and at rate 0', () => {
    for (const [mode, rate] of [
      ['eval', 0.3],
      ['train', 0],
    ] as const) {
      const g = new Graph('dp', { mode });
      const x = g.input('x', 'float32', [2, 3]);
      expect(fedDropPath(g, x, rate)).toBe(x);
      expect(noiseInputs(g)).toHaveLength(0);
    }
  });
});
