// Finite-difference proofs of the reduction rules (float64), at opset 17 (ReduceMean axes attribute) and
// opset 18 (axes input).
import { describe, it } from 'vitest';
import * as ops from '../../ops/index.js';
import { assertGradients, type GradCheckSpec } from '../../testing/gradcheck.js';

const F64 = 1e-6;
const one = (shape: number[], build: GradCheckSpec['build'], opset?: number): GradCheckSpec => ({ inputs: { a: { shape } }, build, opset });

const cases: [string, GradCheckSpec, number][] = [
  ['ReduceSum all axes', one([2, 3], (g, x) => ops.reduceSum(g, x.a!)), F64],
  ['ReduceSum axes [0, 2], keepdims', one([2, 3, 4], (g, x) => ops.reduceSum(g, x.a!, [0, 2], true)), F64],
  ['ReduceSum axis -1', one([2, 3, 4], (g, x) => ops.reduceSum(g, x.a!, [-1])), F64],
  ['ReduceMean axis 1 (opset 17 attribute)', one([2, 3, 4], (g, x) => ops.reduceMean(g, x.a!, [1])), F64],
  ['ReduceMean axes [0, 2] keepdims (opset 18 input)', one([2, 3, 4], (g, x) => ops.reduceMean(g, x.a!, [0, 2], true), 18), F64],
  ['ReduceMean all', one([3, 4], (g, x) => ops.reduceMean(g, x.a!)), F64],
];

describe('reduce gradient rules', () => {
  it.each(cases)('%s', async (name, spec, tol) => {
    await assertGradients(spec, tol, name);
  });
});
