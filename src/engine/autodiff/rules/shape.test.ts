// Finite-difference proofs of the shape-op rules (float64).
import { describe, it } from 'vitest';

import * as ops from '../../ops/index.js';
import { assertGradients, type GradCheckSpec } from '../../testing/gradcheck.js';

const F64 = 1e-6;
const one = (shape: number[], build: GradCheckSpec['build']): GradCheckSpec => ({ inputs: { a: { shape } }, build });

const cases: [string, GradCheckSpec, number][] = [
  ['Reshape (with -1)', one([2, 3, 4], (g, x) => ops.mul(g, ops.reshape(g, x.a!, [-1, 4, 2]), 3)), F64],
  ['Flatten', one([2, 3, 2], (g, x) => ops.flatten(g, x.a!, 2)), F64],
  ['Transpose', one([2, 3, 4], (g, x) => ops.transpose(g, x.a!, [2, 0, 1])), F64],
  ['Unsqueeze + Squeeze', one([3, 4], (g, x) => ops.squeeze(g, ops.exp(g, ops.unsqueeze(g, x.a!, [0, 2])), [0])), F64],
  [
    'Concat (axis 1, one input used twice)',
    {
      inputs: { a: { shape: [2, 3] }, b: { shape: [2, 1] } },
      build: (g, x) => ops.concat(g, [x.a!, x.b!, x.a!], 1),
    },
    F64,
  ],
  [
    'Split (one output unused)',
    one([2, 6], (g, x) => {
      const [p, , r] = ops.split(g, x.a!, [1, 2, 3], 1);
      return [ops.exp(g, p!), r!];
    }),
    F64,
  ],
  ['Slice (negative bounds, subset of axes)', one([4, 5], (g, x) => ops.slice(g, x.a!, { starts: [1, -4], ends: [3, -1], axes: [0, 1] })), F64],
  ['Slice (end past the dim)', one([3, 4], (g, x) => ops.slice(g, x.a!, { starts: [2], ends: [100], axes: [1] })), F64],
  ['Slice step 2', one([3, 7], (g, x) => ops.slice(g, x.a!, { starts: [1], ends: [7], axes: [1], steps: [2] })), F64],
  ['Slice step 3 on two axes, end clamped', one([5, 8], (g, x) => ops.slice(g, x.a!, { starts: [0, 2], ends: [100, 8], axes: [0, 1], steps: [3, 3] })), F64],
  [
    'Slice negative steps (reversal and stride -2)',
    one([4, 6], (g, x) => ops.slice(g, x.a!, { starts: [-1, 5], ends: [-100, 0], axes: [0, 1], steps: [-1, -2] })),
    F64,
  ],
  ['Pad', one([2, 3], (g, x) => g.op('Pad', [x.a!, g.ints([1, 0, 0, 2])])), F64],
  [
    'Gather axis 0, repeated indices',
    {
      inputs: { a: { shape: [4, 3] }, i: { shape: [2, 2], dtype: 'int64', values: [1, 3, 1, -1] } },
      build: (g, x) => ops.gather(g, x.a!, x.i!, 0),
    },
    F64,
  ],
  [
    'Gather axis 1, vector of indices',
    {
      inputs: { a: { shape: [2, 4, 3] }, i: { shape: [3], dtype: 'int64', values: [0, 2, 2] } },
      build: (g, x) => ops.gather(g, x.a!, x.i!, 1),
    },
    F64,
  ],
  ['Gather scalar index (class token)', one([2, 4, 3], (g, x) => ops.gather(g, x.a!, 0, 1)), F64],
  [
    'GatherElements (repeated indices)',
    {
      inputs: { a: { shape: [3, 4] }, i: { shape: [3, 2], dtype: 'int64', values: [0, 3, 3, 3, 1, 0] } },
      build: (g, x) => g.op('GatherElements', [x.a!, x.i!], { axis: 1 }),
    },
    F64,
  ],
  ['Tile', one([2, 3], (g, x) => g.op('Tile', [x.a!, g.ints([2, 1])])), F64],
  ['Tile on both axes', one([2, 3], (g, x) => g.op('Tile', [x.a!, g.ints([3, 2])])), F64],
  ['Expand', one([3, 1], (g, x) => ops.expand(g, x.a!, [2, 3, 4])), F64],
];

describe('shape gradient rules', () => {
  it.each(cases)('%s', async (name, spec, tol) => {
    await assertGradients(spec, tol, name);
  });
});
