// The seeded generator: the same seed gives the same stream, uniforms and normal deviates have the right range and moments.
import { describe, expect, it } from 'vitest';

import { Rng, subSeed } from './rng.js';

describe('Rng', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(42)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(42)),
    );
    const c = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextU32()
      )(new Rng(43)),
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('draws uniforms in range and standard normals with mean 0, sd 1', () => {
    const r = new Rng(7);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.sqrt(sq / n)).toBeCloseTo(1, 1);
  });

  it('int covers both ends inclusively; pick refuses an empty list', () => {
    const r = new Rng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(r.int(1, 6));
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => r.pick([])).toThrow(RangeError);
  });
});

describe('subSeed', () => {
  it('mixes every key, so each image has its own stream', () => {
    const seeds = new Set([
      subSeed(1, 'image', 'covid', 'a'),
      subSeed(1, 'image', 'covid', 'b'),
      subSeed(2, 'image', 'covid', 'a'),
      subSeed(1, 'image', 'tb', 'a'),
      subSeed(1, 3),
      subSeed(1, 4),
    ]);
    expect(seeds.size).toBe(6);
    expect(subSeed(9, 'x', 1)).toBe(subSeed(9, 'x', 1));
  });
});
