import { describe, expect, it } from 'vitest';

import { balancedOrder, classCounts, epochOrder, inverseFrequencyWeights, shuffledOrder } from './sampler.js';

describe('sampler', () => {
  it('shuffles into a permutation that depends on (seed, epoch) only', () => {
    const a = shuffledOrder(100, 1, 0);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(shuffledOrder(100, 1, 0))).toEqual(Array.from(a));
    expect(Array.from(shuffledOrder(100, 1, 1))).not.toEqual(Array.from(a));
    expect(Array.from(shuffledOrder(100, 2, 0))).not.toEqual(Array.from(a));
  });

  it('weights classes by N / (K · n_c), 0 for absent classes', () => {
    // 6 images: class 0 ×4, class 2 ×2; K = 2 → w0 = 6/8, w2 = 6/4
    expect(inverseFrequencyWeights([0, 0, 0, 0, 2, 2], 3)).toEqual([0.75, 0, 1.5]);
  });

  it('draws classes uniformly with the balanced sampler', () => {
    const labels = [...new Array(900).fill(0), ...new Array(90).fill(1), ...new Array(10).fill(3)];
    const order = balancedOrder(labels, 4, 5, 0);
    expect(order).toHaveLength(1000);
    const drawn = classCounts(
      Array.from(order, (i) => labels[i]!),
      4,
    );
    expect(drawn[2]).toBe(0);
    for (const c of [0, 1, 3]) expect(Math.abs(drawn[c]! - 1000 / 3)).toBeLessThan(60);
    expect(Array.from(epochOrder(labels, 4, 'sampler', 5, 0))).toEqual(Array.from(order));
  });
});
