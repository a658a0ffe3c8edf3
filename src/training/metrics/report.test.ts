// Checked against values computed by hand (worked out in the comments).
import { describe, expect, it } from 'vitest';

import { classifierReport } from './report.js';

describe('classifierReport', () => {
  it('assembles the figures, calibrated probabilities and per-class rows', () => {
    const logits = [2, 0, 0, 2, 2, 0, 0, 2]; // predictions 0 1 0 1
    const r = classifierReport({ logits, labels: [0, 1, 1, 1], classes: ['a', 'b'], temperature: 2 });
    expect(r.accuracy).toBe(0.75);
    expect(r.confusion).toEqual([
      [1, 0],
      [1, 2],
    ]);
    expect(r.perClass[0]).toMatchObject({ class: 'a', precision: 0.5, recall: 1, support: 1, predicted: 2 });
    // AUC of class b: positives score p_b = (low, high, high) vs the negative's low → tie ½ + 1 + 1 over 3
    expect(r.perClass[1]!.auc).toBeCloseTo(2.5 / 3, 12);
    // confidence at T = 2: softmax([1, 0]) top = e/(1+e); all four rows share it; 3 of 4 correct
    const conf = Math.E / (1 + Math.E);
    expect(r.ece).toBeCloseTo(Math.abs(0.75 - conf), 12);
    const conf1 = Math.exp(2) / (1 + Math.exp(2));
    expect(r.eceUncalibrated).toBeCloseTo(Math.abs(0.75 - conf1), 12);
    expect(r.nll).toBeCloseTo((3 * -Math.log(conf) - Math.log(1 - conf)) / 4, 12);
  });
});
