// Checked against values computed by hand (worked out in the comments).
import { describe, expect, it } from 'vitest';

import { meanNll, softmaxRows } from './softmax.js';

describe('softmax and NLL', () => {
  it('matches the closed form', () => {
    const p = softmaxRows([0, Math.log(3)], 2);
    expect(p[0]).toBeCloseTo(0.25, 12);
    expect(p[1]).toBeCloseTo(0.75, 12);
    // T = 2 halves the logits: softmax([0, ln 3 / 2]) = [1/(1+√3), √3/(1+√3)]
    expect(softmaxRows([0, Math.log(3)], 2, 2)[1]).toBeCloseTo(Math.sqrt(3) / (1 + Math.sqrt(3)), 12);
    expect(meanNll([0, Math.log(3), 0, Math.log(3)], [1, 0], 2)).toBeCloseTo((-Math.log(0.75) - Math.log(0.25)) / 2, 12);
  });

  it('stays finite for large logits', () => {
    expect(meanNll([1000, 0], [0], 2)).toBeCloseTo(0, 12);
    expect(meanNll([1000, 0], [1], 2)).toBeCloseTo(1000, 9);
  });
});
