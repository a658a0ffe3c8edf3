// Finite-difference proofs of the reduction rules (float64), at opset 17 (ReduceMean/Max axes attribute) and
// opset 18 (axes input); ReduceMax's tie rule checked directly (not differentiable at ties).
import { describe, expect, it } from 'vitest';

import { Graph } from '../../graph.js';
import * as ops from '../../ops/index.js';
import { assertGradients, type GradCheckSpec } from '../../testing/gradcheck.js';
import { runOnce } from '../../testing/ort.js';
import { gradients } from '../gradients.js';

const F64 = 1e-6;
const one = (shape: number[], build: GradCheckSpec['build'], opset?: number): GradCheckSpec => ({ inputs: { a: { shape } }, build, opset });

const cases: [string, GradCheckSpec, number][] = [
  ['ReduceSum all axes', one([2, 3], (g, x) => ops.reduceSum(g, x.a!)), F64],
  ['ReduceSum axes [0, 2], keepdims', one([2, 3, 4], (g, x) => ops.reduceSum(g, x.a!, [0, 2], true)), F64],
  ['ReduceSum axis -1', one([2, 3, 4], (g, x) => ops.reduceSum(g, x.a!, [-1])), F64],
  ['ReduceMean axis 1 (opset 17 attribute)', one([2, 3, 4], (g, x) => ops.reduceMean(g, x.a!, [1])), F64],
  ['ReduceMean axes [0, 2] keepdims (opset 18 input)', one([2, 3, 4], (g, x) => ops.reduceMean(g, x.a!, [0, 2], true), 18), F64],
  ['ReduceMax axis 1 (opset 17 attribute)', one([3, 4], (g, x) => g.op('ReduceMax', [x.a!], { axes: [1], keepdims: 0 })), F64],
  ['ReduceMin axes [0] keepdims (opset 18 input)', one([3, 4], (g, x) => g.op('ReduceMin', [x.a!, g.ints([0])], { keepdims: 1 }), 18), F64],
  ['ReduceMean all', one([3, 4], (g, x) => ops.reduceMean(g, x.a!)), F64],
];

describe('reduce gradient rules', () => {
  it.each(cases)('%s', async (name, spec, tol) => {
    await assertGradients(spec, tol, name);
  });

  it('ReduceMax shares dy evenly between tied maxima (PyTorch amax)', async () => {
    const g = new Graph('ties', { mode: 'train' });
    const x = g.input('x', 'float64', [2, 3]);
    const dx = g.output(gradients(g, g.op('ReduceMax', [x], { axes: [1], keepdims: 0 }), [x]).get('x')!, 'dx');
    const out = await runOnce(g.toModelProto(), { x: { dtype: 'float64', dims: [2, 3], data: Float64Array.of(1, 5, 5, 2, 2, 2) } });
    expect(Array.from(out[dx.name]!.data as Float64Array)).toEqual([0, 0.5, 0.5, 1 / 3, 1 / 3, 1 / 3]);
  });
});
