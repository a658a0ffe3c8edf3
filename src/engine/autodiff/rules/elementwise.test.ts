// Finite-difference proofs of the elementwise rules (float64 unless ORT lacks a double kernel: Erf, Atan).
import { describe, expect, it } from 'vitest';

import { Graph } from '../../graph.js';
import * as ops from '../../ops/index.js';
import { assertGradients, type GradCheckSpec } from '../../testing/gradcheck.js';
import { OrtRunner } from '../../testing/ort.js';
import { gradients } from '../gradients.js';

const F64 = 1e-6;
const cases: [string, GradCheckSpec, number][] = [
  ['Add (broadcast both ways)', { inputs: { a: { shape: [2, 3, 4] }, b: { shape: [3, 1] } }, build: (g, x) => ops.add(g, x.a!, x.b!) }, F64],
  ['Sub (broadcast, rank-1 rhs)', { inputs: { a: { shape: [3, 1] }, b: { shape: [4] } }, build: (g, x) => ops.sub(g, x.a!, x.b!) }, F64],
  ['Mul (broadcast)', { inputs: { a: { shape: [2, 1, 4] }, b: { shape: [3, 1] } }, build: (g, x) => ops.mul(g, x.a!, x.b!) }, F64],
  ['Div (broadcast)', { inputs: { a: { shape: [2, 3] }, b: { shape: [3], low: 0.5, high: 2 } }, build: (g, x) => ops.div(g, x.a!, x.b!) }, F64],
  ['Pow (constant exponent)', { inputs: { a: { shape: [5], low: 0.2, high: 2 } }, build: (g, x) => ops.pow(g, x.a!, 2.5) }, F64],
  ['Pow (tensor exponent)', { inputs: { a: { shape: [2, 3], low: 0.2, high: 2 }, b: { shape: [3] } }, build: (g, x) => ops.pow(g, x.a!, x.b!) }, F64],
  ['Sqrt', { inputs: { a: { shape: [6], low: 0.2, high: 3 } }, build: (g, x) => ops.sqrt(g, x.a!) }, F64],
  ['Exp', { inputs: { a: { shape: [6] } }, build: (g, x) => ops.exp(g, x.a!) }, F64],
  ['Log', { inputs: { a: { shape: [6], low: 0.2, high: 3 } }, build: (g, x) => ops.log(g, x.a!) }, F64],
  ['Neg', { inputs: { a: { shape: [6] } }, build: (g, x) => ops.neg(g, x.a!) }, F64],
  ['Reciprocal', { inputs: { a: { shape: [6], margin: 0.3 } }, build: (g, x) => ops.reciprocal(g, x.a!) }, F64],
  ['Abs', { inputs: { a: { shape: [6], margin: 0.1 } }, build: (g, x) => ops.abs(g, x.a!) }, F64],
  ['Identity', { inputs: { a: { shape: [6] } }, build: (g, x) => ops.identity(g, x.a!) }, F64],
  [
    'Sum (three inputs, broadcast)',
    { inputs: { a: { shape: [2, 3] }, b: { shape: [3] }, c: { shape: [2, 1] } }, build: (g, x) => ops.sum(g, [x.a!, x.b!, x.c!]) },
    F64,
  ],
  ['Max (broadcast)', { inputs: { a: { shape: [2, 3] }, b: { shape: [3] } }, build: (g, x) => g.op('Max', [x.a!, x.b!]) }, F64],
  ['Min', { inputs: { a: { shape: [5] }, b: { shape: [5] } }, build: (g, x) => g.op('Min', [x.a!, x.b!]) }, F64],
  [
    'Clip (both bounds)',
    { inputs: { a: { shape: [8], low: -2, high: 2 } }, build: (g, x) => g.op('Clip', [x.a!, g.scalar(-1, x.a!), g.scalar(1, x.a!)]) },
    F64,
  ],
  [
    'Where (condition from a non-differentiated input)',
    {
      inputs: { a: { shape: [2, 3] }, b: { shape: [3] }, m: { shape: [2, 3], wrt: false } },
      build: (g, x) => ops.where(g, ops.greater(g, x.m!, 0), x.a!, x.b!),
    },
    F64,
  ],
  // Cast float64 → float32 → float64: the step must exceed float32 resolution (a linear map, so a big step is exact).
  ['Cast', { eps: 1e-2, inputs: { a: { shape: [6] } }, build: (g, x) => ops.cast(g, ops.mul(g, ops.cast(g, x.a!, 'float32'), 3), 'float64') }, 1e-4],
  // ORT has no double Erf kernel: float32, step 1e-2.
  ['Erf (float32)', { dtype: 'float32', inputs: { a: { shape: [8] } }, build: (g, x) => ops.erf(g, x.a!) }, 5e-4],
  // Nor a double Atan kernel (CIoU's aspect term): float32, step 1e-2.
  ['Atan (float32)', { dtype: 'float32', inputs: { a: { shape: [8], low: -3, high: 3 } }, build: (g, x) => ops.atan(g, x.a!) }, 5e-4],
];

describe('elementwise gradient rules', () => {
  it.each(cases)('%s', async (name, spec, tol) => {
    await assertGradients(spec, tol, name);
  });
});

describe('StopGradient', () => {
  it('d/dx [x·stop(eˣ)] = eˣ: the stopped factor is a constant (PyTorch detach)', async () => {
    const g = new Graph('stop', { mode: 'train' });
    const x = g.input('x', 'float64', [4]);
    const y = ops.reduceSum(g, ops.mul(g, x, ops.stopGradient(g, ops.exp(g, x))));
    const dx = g.output(gradients(g, y, [x]).get('x')!, 'dx');
    const runner = await OrtRunner.create(g.toModelProto());
    const xs = Float64Array.of(-1, 0, 0.5, 2);
    const out = await runner.run({ x: { dtype: 'float64', dims: [4], data: xs } });
    // (without the stop it would be (1 + x)·eˣ; ORT's exp may differ from V8's in the last bit)
    (out[dx.name]!.data as Float64Array).forEach((v, i) => expect(v).toBeCloseTo(Math.exp(xs[i]!), 14));
    await runner.release();
  });

  it('ops computed from a stopped tensor are not differentiated (TopK has no rule): d/dx [x · max(stop(x))] = max(x)', async () => {
    const g = new Graph('stop-topk', { mode: 'train' });
    const x = g.input('x', 'float64', [5]);
    const largest = ops.topK(g, ops.stopGradient(g, x), 1).values; // [1]
    const y = ops.reduceSum(g, ops.mul(g, x, largest));
    const dx = g.output(gradients(g, y, [x]).get('x')!, 'dx');
    const runner = await OrtRunner.create(g.toModelProto());
    const out = await runner.run({ x: { dtype: 'float64', dims: [5], data: Float64Array.of(0.5, 3, -1, 2, 3) } });
    expect(Array.from(out[dx.name]!.data as Float64Array)).toEqual([3, 3, 3, 3, 3]);
    await runner.release();
  });
});
