import { describe, expect, it } from 'vitest';

import { meanNll } from './softmax.js';
import { fitTemperature, TEMPERATURE_BOUNDS } from './temperature.js';

describe('fitTemperature', () => {
  it('finds the closed-form optimum T = a / logit(q) for two-class logits [a, 0]', () => {
    // q of the rows are class 0: NLL(T) = q·log(1 + e^(−a/T)) + (1−q)·log(1 + e^(a/T)), minimal where
    // sigmoid(a/T) = q, i.e. T = a / ln(q / (1 − q)). a = 4, q = 0.8 → T = 4 / ln 4 ≈ 2.885.
    const logits: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 10; i++) {
      logits.push(4, 0);
      labels.push(i < 8 ? 0 : 1);
    }
    const fit = fitTemperature(logits, labels, 2);
    expect(fit.temperature).toBeCloseTo(4 / Math.log(4), 4);
    expect(fit.nllAfter).toBeLessThan(fit.nllBefore);
    expect(fit.nllAfter).toBeCloseTo(meanNll(logits, labels, 2, 4 / Math.log(4)), 9);
  });

  it('sharpens under-confident logits (T < 1)', () => {
    // Always right but with soft logits: the NLL keeps falling as T shrinks, down to the bound.
    const fit = fitTemperature([0.5, 0, 0, 0.5, 0.5, 0], [0, 1, 0], 2);
    expect(fit.temperature).toBeCloseTo(TEMPERATURE_BOUNDS.min, 6);
  });

  it('rejects an empty set', () => {
    expect(() => fitTemperature([], [], 2)).toThrow(/at least one/);
  });
});
