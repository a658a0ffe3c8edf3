// Finite-difference proofs of LayerNormalization and batch norm (training composite and inference op),
// and the running-statistics update of training-mode batch norm (PyTorch semantics).
import { describe, expect, it } from 'vitest';

import { Graph } from '../../graph.js';
import * as init from '../../init.js';
import * as ops from '../../ops/index.js';
import { assertGradients, type GradCheckSpec } from '../../testing/gradcheck.js';
import { OrtRunner } from '../../testing/ort.js';

const F64 = 1e-6;
const ln = (shape: number[], scale: number[], axis: number, dtype: 'float32' | 'float64' = 'float64'): GradCheckSpec => ({
  dtype,
  inputs: { x: { shape }, s: { shape: scale, low: 0.5, high: 1.5 }, b: { shape: scale } },
  build: (g, t) => ops.layerNorm(g, t.x!, t.s!, t.b!, { axis }),
});

const bn = (shape: number[], mode: 'train' | 'eval'): GradCheckSpec => ({
  mode,
  inputs: { x: { shape }, s: { shape: [shape[1]!], low: 0.5, high: 1.5 }, b: { shape: [shape[1]!] } },
  build: (g, t) => {
    const c = shape[1]!;
    const state = {
      scale: t.s!,
      bias: t.b!,
      runningMean: g.buffer('rm', [c], init.uniform(-0.5, 0.5), { dtype: t.x!.dtype }),
      runningVar: g.buffer('rv', [c], init.uniform(0.5, 2), { dtype: t.x!.dtype }),
    };
    return ops.batchNorm(g, t.x!, state);
  },
});

const cases: [string, GradCheckSpec, number][] = [
  // ORT returns Mean/InvStdDev in float32 (stash_type 1) even for float64 inputs: the rule casts them, so the
  // float64 check is bounded by float32 rounding of the statistics.
  ['LayerNormalization last axis (float64)', ln([3, 6], [6], -1), 1e-6],
  ['LayerNormalization over the last two axes (float64)', ln([2, 3, 4], [3, 4], -2), 1e-6],
  ['LayerNormalization tokens [B, T, D] (float32)', { ...ln([2, 3, 8], [8], -1, 'float32'), eps: 1e-2 }, 1e-3],
  ['BatchNormalization training (composite, batch statistics)', bn([4, 3, 2, 2], 'train'), F64],
  ['BatchNormalization training on [N, C]', bn([6, 3], 'train'), F64],
  ['BatchNormalization inference (running statistics)', bn([2, 3, 2, 2], 'eval'), F64],
];

describe('normalization gradient rules', () => {
  it.each(cases)('%s', async (name, spec, tol) => {
    await assertGradients(spec, tol, name);
  });

  it('training batch norm updates running stats with momentum and the unbiased variance (PyTorch)', async () => {
    const g = new Graph('bn', { mode: 'train' });
    const x = g.input('x', 'float64', [3, 2, 2]);
    const state = {
      scale: g.param('s', [2], init.ones(), { dtype: 'float64' }),
      bias: g.param('b', [2], init.zeros(), { dtype: 'float64' }),
      runningMean: g.buffer('rm', [2], init.constant(1), { dtype: 'float64' }),
      runningVar: g.buffer('rv', [2], init.constant(2), { dtype: 'float64' }),
    };
    g.output(ops.batchNorm(g, x, state, { momentum: 0.1 }));
    expect(g.bufferUpdates().map((u) => u.buffer)).toEqual(['rm', 'rv']);
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const out = await (await OrtRunner.create(g.toModelProto())).run({ x: { dtype: 'float64', dims: [3, 2, 2], data: Float64Array.from(xs) } });
    // channel 0 holds x[n, 0, :] = {1,2,5,6,9,10}, channel 1 {3,4,7,8,11,12}
    const ch = [
      [1, 2, 5, 6, 9, 10],
      [3, 4, 7, 8, 11, 12],
    ];
    const mean = ch.map((v) => v.reduce((a, b) => a + b) / v.length);
    const uvar = ch.map((v, c) => v.reduce((a, b) => a + (b - mean[c]!) ** 2, 0) / (v.length - 1));
    const rm = out['rm.updated']!.data as Float64Array;
    const rv = out['rv.updated']!.data as Float64Array;
    [0, 1].forEach((c) => {
      expect(rm[c]).toBeCloseTo(0.9 * 1 + 0.1 * mean[c]!, 12);
      expect(rv[c]).toBeCloseTo(0.9 * 2 + 0.1 * uvar[c]!, 12);
    });
  });
});
