// End to end: an MLP built with the ops, serialized, run in onnxruntime-node, gradients checked against
// central differences in float64; plus pruning, accumulation and misuse errors of the autodiff driver.
import { describe, expect, it } from 'vitest';

import { EngineError } from '../errors.js';
import { Graph } from '../graph.js';
import * as ops from '../ops/index.js';
import { checkGradients } from '../testing/gradcheck.js';
import { gradients } from './gradients.js';

describe('gradients (end to end)', () => {
  it('matches finite differences for a 2-layer MLP with cross-entropy', async () => {
    const r = await checkGradients({
      inputs: {
        x: { shape: [4, 5] },
        w1: { shape: [5, 6] },
        b1: { shape: [6] },
        w2: { shape: [6, 3] },
        labels: { shape: [4], dtype: 'int64', values: [0, 2, 1, 2] },
      },
      build: (g, x) => {
        const h = ops.relu(g, ops.linear(g, x.x!, x.w1!, x.b1!));
        return ops.softmaxCrossEntropy(g, ops.matmul(g, h, x.w2!), x.labels!);
      },
    });
    expect(r.inputs.map((i) => i.name)).toEqual(['x', 'w1', 'b1', 'w2']);
    expect(r.worst).toBeLessThan(1e-6);
  });

  it('sums the cotangents of a tensor used twice', async () => {
    const r = await checkGradients({
      inputs: { x: { shape: [3, 4] } },
      build: (g, x) => ops.mul(g, ops.exp(g, x.x!), ops.add(g, x.x!, ops.tanh(g, x.x!))),
    });
    expect(r.worst).toBeLessThan(1e-6);
  });

  it('prunes nodes off the wrt → loss path and gives zeros to unused wrt tensors', () => {
    const g = new Graph('prune', { mode: 'train' });
    const x = g.input('x', 'float32', ['batch', 4]);
    const a = g.input('a', 'float32', [4]);
    const unused = g.input('unused', 'float32', [4]);
    const side = ops.exp(g, x); // depends on x but does not reach the loss
    g.output(side);
    const loss = ops.reduceSum(g, ops.mul(g, x, a));
    const before = g.nodes().length;
    const grads = gradients(g, loss, [a, unused]);
    const added = g.nodes().slice(before);
    // No rule ran for Exp, and x (not in wrt) got no gradient of its own.
    expect(added.some((n) => n.opType === 'Exp')).toBe(false);
    expect(grads.get('a')?.shape).toEqual([4]);
    expect(g.producer(grads.get('unused')!.name)?.opType).toBe('ConstantOfShape');
  });

  it('refuses int tensors and ops without a rule with an EngineError', () => {
    const g = new Graph('bad', { mode: 'train' });
    const idx = g.input('idx', 'int64', [3]);
    const x = g.input('x', 'float32', [3]);
    expect(() => gradients(g, ops.reduceSum(g, x), [idx])).toThrow(EngineError);
    const y = g.op('Floor', [x]);
    expect(() => gradients(g, ops.reduceSum(g, y), [x])).toThrow(/no gradient rule for op 'Floor'/);
  });
});
