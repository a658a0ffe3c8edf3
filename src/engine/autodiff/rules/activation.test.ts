// Finite-difference proofs of the activation rules (float64; Gelu in float32: ORT has no double Erf), and
// Dropout's mask semantics (random, so checked against its own mask instead of finite differences).
import { describe, expect, it } from 'vitest';

import { Graph } from '../../graph.js';
import * as ops from '../../ops/index.js';
import { assertGradients, type GradCheckSpec } from '../../testing/gradcheck.js';
import { OrtRunner } from '../../testing/ort.js';
import { gradients } from '../gradients.js';

const F64 = 1e-6;
const cases: [string, GradCheckSpec, number][] = [
  ['Relu', { inputs: { a: { shape: [2, 5], margin: 0.05 } }, build: (g, x) => ops.relu(g, x.a!) }, F64],
  ['LeakyRelu', { inputs: { a: { shape: [2, 5], margin: 0.05 } }, build: (g, x) => g.op('LeakyRelu', [x.a!], { alpha: 0.1 }) }, F64],
  ['Sigmoid', { inputs: { a: { shape: [2, 5], low: -3, high: 3 } }, build: (g, x) => ops.sigmoid(g, x.a!) }, F64],
  // ORT fuses x·σ(x) into com.microsoft.QuickGelu, which has a float32 kernel only: float32, step 1e-2.
  ['SiLU (x·σ(x), Mul + Sigmoid; float32)', { dtype: 'float32', inputs: { a: { shape: [2, 5], low: -4, high: 4 } }, build: (g, x) => ops.silu(g, x.a!) }, 5e-4],
  ['Tanh', { inputs: { a: { shape: [2, 5], low: -2, high: 2 } }, build: (g, x) => ops.tanh(g, x.a!) }, F64],
  ['Softmax (last axis)', { inputs: { a: { shape: [3, 4], low: -2, high: 2 } }, build: (g, x) => ops.softmax(g, x.a!) }, F64],
  ['Softmax (middle axis of 3-D)', { inputs: { a: { shape: [2, 3, 4], low: -2, high: 2 } }, build: (g, x) => ops.softmax(g, x.a!, 1) }, F64],
  ['LogSoftmax', { inputs: { a: { shape: [3, 4], low: -2, high: 2 } }, build: (g, x) => ops.logSoftmax(g, x.a!) }, F64],
  ['Gelu (opset 17 composite, float32)', { dtype: 'float32', inputs: { a: { shape: [12], low: -3, high: 3 } }, build: (g, x) => ops.gelu(g, x.a!) }, 5e-4],
  ['Gelu (opset 20 op, float32)', { dtype: 'float32', opset: 20, inputs: { a: { shape: [12], low: -3, high: 3 } }, build: (g, x) => ops.gelu(g, x.a!) }, 5e-4],
];

describe('activation gradient rules', () => {
  it.each(cases)('%s', async (name, spec, tol) => {
    await assertGradients(spec, tol, name);
  });

  it('Gelu composite reuses the forward 1 + erf(x/√2) (one Erf in the whole graph)', () => {
    const g = new Graph('gelu', { mode: 'train' });
    const x = g.input('x', 'float32', [4]);
    gradients(g, ops.reduceSum(g, ops.gelu(g, x)), [x]);
    expect(g.nodes().filter((n) => n.opType === 'Erf')).toHaveLength(1);
  });

  it('Dropout: dx = dy·mask/(1 − p), a fresh mask on every run, identity in eval', async () => {
    const p = 0.5;
    const g = new Graph('dropout', { mode: 'train' });
    const x = g.input('x', 'float32', [256]);
    const ct = g.input('ct', 'float32', [256]);
    const y = g.output(ops.dropout(g, x, p));
    const dx = g.output(gradients(g, y, [x], { seed: ct }).get('x')!, 'dx');
    const runner = await OrtRunner.create(g.toModelProto());
    const feeds = {
      x: { dtype: 'float32' as const, dims: [256], data: Float32Array.from({ length: 256 }, (_, i) => 1 + (i % 7)) },
      ct: { dtype: 'float32' as const, dims: [256], data: Float32Array.from({ length: 256 }, (_, i) => (i % 5) - 2) },
    };
    const masks: string[] = [];
    for (let run = 0; run < 2; run++) {
      const out = await runner.run(feeds);
      const yv = out[y.name]!.data as Float32Array;
      const dv = out[dx.name]!.data as Float32Array;
      const kept = Array.from(yv, (v) => v !== 0);
      yv.forEach((v, i) => {
        const expected = kept[i] ? (feeds.ct.data[i] as number) / (1 - p) : 0;
        expect(dv[i]).toBeCloseTo(expected, 6);
        if (kept[i]) expect(v).toBeCloseTo((feeds.x.data[i] as number) / (1 - p), 5);
      });
      const frac = kept.filter(Boolean).length / kept.length;
      expect(frac).toBeGreaterThan(0.3);
      expect(frac).toBeLessThan(0.7);
      masks.push(kept.map((k) => (k ? '1' : '0')).join(''));
    }
    expect(masks[0]).not.toBe(masks[1]);
    await runner.release();
    const e = new Graph('dropout-eval', { mode: 'eval' });
    const xe = e.input('x', 'float32', [4]);
    expect(ops.dropout(e, xe, p)).toBe(xe);
    expect(e.nodes()).toHaveLength(0);
  });
});
