// The Graph itself: naming and scopes, seeded parameters, constants, modes and buffer updates.
import { describe, expect, it } from 'vitest';

import { EngineError } from './errors.js';
import { Graph } from './graph.js';
import * as init from './init.js';
import * as ops from './ops/index.js';

describe('Graph', () => {
  it('scopes names and keeps node/tensor names unique', () => {
    const g = new Graph('m');
    const x = g.input('x', 'float32', ['batch', 4]);
    const w = g.scope('blocks.0', () => g.scope('mlp', () => g.param('weight', [4, 4], init.zeros())));
    expect(w.name).toBe('blocks.0.mlp.weight');
    const a = ops.relu(g, x);
    const b = ops.relu(g, x);
    expect(a.name).not.toBe(b.name);
    expect(() => g.param('blocks.0.mlp.weight', [1], init.zeros())).toThrow(EngineError);
  });

  it('parameters are deterministic in (seed, name) and independent of other parameters', () => {
    const build = (seed: number, extra: boolean): Float32Array => {
      const g = new Graph('m', { seed });
      if (extra) g.param('other', [100], init.normal(1));
      g.param('w', [8, 8], init.kaimingNormal());
      return g
        .params()
        .find((p) => p.name === 'w')!
        .values() as Float32Array;
    };
    expect(build(1, false)).toEqual(build(1, true));
    expect(build(1, false)).not.toEqual(build(2, false));
  });

  it('shares small constants and tracks integer values for static shapes', () => {
    const g = new Graph('m');
    const x = g.input('x', 'float32', [2, 3]);
    expect(g.scalar(0.5, x)).toBe(g.scalar(0.5, x));
    expect(g.scalar(0.5, x)).not.toBe(g.scalar(0.5, 'float64'));
    const s = ops.shapeOf(g, g.input('y', 'float32', ['batch', 7]));
    expect(g.valueOf(s)).toEqual(['batch', 7]);
  });

  it('records buffer updates as outputs and checks them', () => {
    const g = new Graph('m', { mode: 'train' });
    const rm = g.buffer('bn.running_mean', [3], init.zeros());
    const v = g.input('v', 'float32', [3]);
    g.updateBuffer(rm, v);
    expect(g.bufferUpdates()).toEqual([{ buffer: 'bn.running_mean', value: expect.objectContaining({ name: 'bn.running_mean.updated' }) }]);
    expect(g.outputs().map((o) => o.name)).toEqual(['bn.running_mean.updated']);
    expect(() => g.updateBuffer(rm, g.input('w', 'float32', [4]))).toThrow(/shape|is float32\[3\]/);
    expect(() => g.updateBuffer(v, v)).toThrow(/not a buffer/);
  });

  it('builds different graphs in train and eval mode from one function', () => {
    const model = (mode: 'train' | 'eval'): string[] => {
      const g = new Graph('m', { mode });
      const x = g.input('x', 'float32', ['batch', 2, 4, 4]);
      const c = (n: string, v: number) => g.param(n, [2], init.constant(v));
      const y = ops.batchNorm(g, x, {
        scale: c('s', 1),
        bias: c('b', 0),
        runningMean: g.buffer('rm', [2], init.zeros()),
        runningVar: g.buffer('rv', [2], init.ones()),
      });
      g.output(ops.dropout(g, y, 0.1));
      return g.nodes().map((n) => n.opType);
    };
    expect(model('eval')).toEqual(['BatchNormalization']);
    expect(model('train')).toContain('Dropout');
    expect(model('train')).not.toContain('BatchNormalization');
  });
});
