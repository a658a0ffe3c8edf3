import { describe, expect, it } from 'vitest';

import type { StoredTensor } from '../engine/index.js';
import { WeightAverage } from './ema.js';

const f32 = (...v: number[]): StoredTensor => ({ dtype: 'float32', shape: [v.length], data: Float32Array.from(v) });

describe('WeightAverage', () => {
  it('averages with the warm-up decay min(d, (1+n)/(10+n)) and copies integer state', () => {
    const avg = new WeightAverage(
      0.5,
      new Map([
        ['w', f32(0, 10)],
        ['n', { dtype: 'int64', shape: [1], data: BigInt64Array.of(0n) }],
      ]),
    );
    // n = 0: decay min(0.5, 0.1) = 0.1 → 0.1·avg + 0.9·w
    expect(avg.currentDecay()).toBeCloseTo(0.1, 12);
    avg.update(
      new Map([
        ['w', f32(10, 0)],
        ['n', { dtype: 'int64', shape: [1], data: BigInt64Array.of(7n) }],
      ]),
    );
    expect(Array.from(avg.tensors().get('w')!.data as Float32Array)).toEqual([9, 1]);
    expect(avg.tensors().get('n')!.data[0]).toBe(7n);
    // n = 1: min(0.5, 2/11) = 2/11; n = 9: 10/19 > 0.5 → 0.5
    expect(avg.currentDecay()).toBeCloseTo(2 / 11, 12);
    for (let i = 1; i < 9; i++)
      avg.update(
        new Map([
          ['w', f32(9, 1)],
          ['n', { dtype: 'int64', shape: [1], data: BigInt64Array.of(7n) }],
        ]),
      );
    expect(avg.currentDecay()).toBe(0.5);
    avg.update(
      new Map([
        ['w', f32(1, 3)],
        ['n', { dtype: 'int64', shape: [1], data: BigInt64Array.of(7n) }],
      ]),
    );
    expect(Array.from(avg.tensors().get('w')!.data as Float32Array)).toEqual([5, 2]);
  });

  it('does not alias the weights it started from', () => {
    const w = f32(1, 2);
    const avg = new WeightAverage(0.9, new Map([['w', w]]));
    (w.data as Float32Array)[0] = 100;
    expect(avg.tensors().get('w')!.data[0]).toBe(1);
  });

  it('round-trips through checkpoint tensors, keeping the update count, and leaves the session state apart', () => {
    const avg = new WeightAverage(0.99, new Map([['w', f32(0, 0)]]));
    avg.update(new Map([['w', f32(1, 1)]]));
    avg.update(new Map([['w', f32(2, 2)]]));
    const tensors = new Map([['w', f32(5, 5)]]);
    avg.addTo(tensors);
    const { own, average } = WeightAverage.split(tensors, 0.99);
    expect([...own.keys()]).toEqual(['w']);
    expect(own.get('w')!.data[0]).toBe(5);
    expect(average!.tensors().get('w')!.data).toEqual(avg.tensors().get('w')!.data);
    expect(average!.currentDecay()).toBe(avg.currentDecay());
    // A checkpoint without an average (a run trained without one) splits into its own tensors only.
    expect(WeightAverage.split(new Map([['w', f32(1)]]), 0.99).average).toBeUndefined();
  });

  it('refuses a decay outside (0, 1) and a session that lacks an averaged tensor', () => {
    expect(() => new WeightAverage(1, new Map())).toThrow(/decay must be in \(0, 1\)/);
    expect(() => new WeightAverage(0.9, new Map([['w', f32(1)]])).update(new Map())).toThrow(/has 'w', the session does not/);
  });
});
