// Checked against values computed by hand (worked out in the comments).
import { describe, expect, it } from 'vitest';

import { binaryAuc, oneVsRestAuc } from './auc.js';

describe('AUC', () => {
  it('equals the share of correctly ordered positive/negative pairs', () => {
    // negatives 0.1, 0.4; positives 0.35, 0.8 → pairs (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4) = 3/4
    expect(binaryAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).toBe(0.75);
    expect(binaryAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(binaryAuc([0.9, 0.8, 0.2, 0.1], [false, false, true, true])).toBe(0);
  });

  it('counts ties as one half', () => {
    // positives 0.5, 0.9; negatives 0.5, 0.5 → 0.5 + 0.5 (tied) + 1 + 1 = 3 of 4 pairs
    expect(binaryAuc([0.5, 0.5, 0.5, 0.9], [false, true, false, true])).toBe(0.75);
    expect(binaryAuc([0.3, 0.3, 0.3], [true, false, false])).toBe(0.5);
    // positives 0.2, 0.7, 0.7; negatives 0.7, 0.1: 0.2 → (0, 1); 0.7 → (½, 1) twice → (1 + 1.5 + 1.5) / 6 = 2/3
    expect(binaryAuc([0.2, 0.7, 0.7, 0.7, 0.1], [true, true, true, false, false])).toBeCloseTo(2 / 3, 12);
  });

  it('is undefined (null) without positives or without negatives', () => {
    expect(binaryAuc([0.1, 0.2], [false, false])).toBeNull();
    expect(binaryAuc([0.1, 0.2], [true, true])).toBeNull();
  });

  it('one-vs-rest reads column c against label c', () => {
    // 3 rows × 3 classes; class 2 never occurs → null
    const probs = [0.7, 0.2, 0.1, 0.4, 0.5, 0.1, 0.6, 0.3, 0.1];
    const auc = oneVsRestAuc(probs, [0, 1, 0], 3);
    // class 0: positives 0.7, 0.6 vs negative 0.4 → 1; class 1: positive 0.5 vs 0.2, 0.3 → 1
    expect(auc).toEqual([1, 1, null]);
  });
});
