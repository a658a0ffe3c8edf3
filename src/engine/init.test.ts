// Initializers: seeded determinism, distribution scale and bounds, fan computation.
import { describe, expect, it } from 'vitest';

import { EngineError } from './errors.js';
import * as init from './init.js';

const stats = (v: Float64Array): { mean: number; std: number; min: number; max: number } => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std, min: Math.min(...v), max: Math.max(...v) };
};

describe('initializers', () => {
  it('are deterministic per seed', () => {
    const a = init.normal(1).fill([1000], init.createRng(7));
    expect(a).toEqual(init.normal(1).fill([1000], init.createRng(7)));
    expect(a).not.toEqual(init.normal(1).fill([1000], init.createRng(8)));
  });

  it('compute fans for both weight layouts', () => {
    expect(init.fans([64, 32, 3, 3])).toEqual({ fanIn: 288, fanOut: 576 });
    expect(init.fans([32, 64], { layout: 'in-out' })).toEqual({ fanIn: 32, fanOut: 64 });
    expect(() => init.fans([5])).toThrow(EngineError);
  });

  it('kaiming normal has std sqrt(2 / fanIn)', () => {
    const s = stats(init.kaimingNormal().fill([256, 128], init.createRng(1)));
    expect(s.std).toBeCloseTo(Math.sqrt(2 / 128), 2);
    expect(Math.abs(s.mean)).toBeLessThan(0.005);
  });

  it('xavier uniform and kaiming uniform stay inside their bounds', () => {
    const bound = Math.sqrt(6 / (100 + 50));
    const x = stats(init.xavierUniform({ layout: 'in-out' }).fill([100, 50], init.createRng(2)));
    expect(x.max).toBeLessThanOrEqual(bound);
    expect(x.min).toBeGreaterThanOrEqual(-bound);
    expect(x.std).toBeCloseTo(bound / Math.sqrt(3), 2);
    const k = stats(init.kaimingUniform({ gain: 1 }).fill([64, 36], init.createRng(3)));
    expect(k.max).toBeLessThanOrEqual(Math.sqrt(3 / 36));
  });

  it('truncated normal is cut at ±2 std', () => {
    const s = stats(init.truncatedNormal(0.02).fill([20000], init.createRng(4)));
    expect(s.max).toBeLessThanOrEqual(0.04);
    expect(s.min).toBeGreaterThanOrEqual(-0.04);
    // std of a standard normal truncated at ±2 is ≈ 0.8796
    expect(s.std / 0.02).toBeCloseTo(0.8796, 1);
  });

  it('constant, zeros, ones and fromValues', () => {
    expect(Array.from(init.ones().fill([3], init.createRng(0)))).toEqual([1, 1, 1]);
    expect(Array.from(init.fromValues([1, 2]).fill([2], init.createRng(0)))).toEqual([1, 2]);
    expect(() => init.fromValues([1, 2]).fill([3], init.createRng(0))).toThrow(EngineError);
  });
});
