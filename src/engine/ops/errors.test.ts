// Misuse fails at build time with an EngineError that names the op and the shapes.
import { describe, expect, it } from 'vitest';

import { EngineError } from '../errors.js';
import { Graph } from '../graph.js';
import * as init from '../init.js';
import * as ops from './index.js';

function buildError(fn: (g: Graph) => unknown): EngineError {
  try {
    fn(new Graph('errors', { mode: 'train' }));
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error('expected an EngineError');
}

describe('build-time errors', () => {
  it('broadcast mismatch names the op, both shapes and the dim', () => {
    const e = buildError((g) => ops.add(g, g.input('a', 'float32', ['batch', 3]), g.input('b', 'float32', [4])));
    expect(e.code).toBe('shape_mismatch');
    expect(e.message).toContain('Add');
    expect(e.message).toContain('float32[batch, 3]');
    expect(e.message).toContain('float32[4]');
    expect(e.message).toContain('3 vs 4');
  });

  it('MatMul inner dimensions', () => {
    const e = buildError((g) => ops.matmul(g, g.input('a', 'float32', [2, 3]), g.input('b', 'float32', [4, 5])));
    expect(e.message).toMatch(/MatMul\(float32\[2, 3\], float32\[4, 5\]\): inner dimensions differ \(3 vs 4\)/);
  });

  it('Conv channels and groups', () => {
    const e = buildError((g) => ops.conv2d(g, g.input('x', 'float32', ['batch', 3, 8, 8]), g.param('w', [4, 2, 3, 3], init.zeros())));
    expect(e.message).toMatch(/Conv\(float32\[batch, 3, 8, 8\], float32\[4, 2, 3, 3\]\): input channels 3 != W channels 2 × group 1/);
    const small = buildError((g) => ops.conv2d(g, g.input('x', 'float32', [1, 1, 2, 2]), g.param('w', [1, 1, 3, 3], init.zeros())));
    expect(small.message).toContain('smaller than the kernel extent 3');
  });

  it('impossible reshape, bad axis, mixed dtypes', () => {
    expect(buildError((g) => ops.reshape(g, g.input('x', 'float32', [2, 3]), [4, 2])).message).toMatch(/Reshape.*cannot reshape 6 elements to \[4, 2\]/);
    expect(buildError((g) => ops.softmax(g, g.input('x', 'float32', [2, 3]), 2)).message).toContain('axis 2 is out of range for rank 2');
    expect(buildError((g) => ops.add(g, g.input('x', 'float32', [2]), g.input('y', 'float64', [2]))).message).toContain('share one dtype');
  });

  it('unknown ops, foreign tensors, duplicate names, bad opset', () => {
    expect(buildError((g) => g.op('NoSuchOp', [])).code).toBe('unsupported_op');
    const other = new Graph('other').input('x', 'float32', [1]);
    expect(buildError((g) => ops.relu(g, other)).code).toBe('unknown_tensor');
    expect(
      buildError((g) => {
        g.input('x', 'float32', [1]);
        g.input('x', 'float32', [1]);
      }).code,
    ).toBe('duplicate_name');
    expect(() => new Graph('old', { opset: 13 })).toThrow(EngineError);
  });

  it('labels of the wrong shape for cross-entropy', () => {
    const e = buildError((g) => ops.softmaxCrossEntropy(g, g.input('x', 'float32', [4, 9]), g.input('y', 'int64', [5])));
    expect(e.message).toContain('labels must be [4]');
  });
});
