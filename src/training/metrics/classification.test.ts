// Checked against values computed by hand (worked out in the comments).
import { describe, expect, it } from 'vitest';

import { accuracy, classFigures, macroF1 } from './classification.js';
import { confusionMatrix } from './confusion.js';

describe('confusion matrix and F1', () => {
  // truth  0 0 1 1 2 2
  // pred   0 0 1 0 1 1     class 2 is never predicted
  const cm = confusionMatrix([0, 0, 1, 1, 2, 2], [0, 0, 1, 0, 1, 1], 3);

  it('counts rows = truth, columns = prediction', () => {
    expect(cm).toEqual([
      [2, 0, 0],
      [1, 1, 0],
      [0, 2, 0],
    ]);
    expect(accuracy(cm)).toBe(0.5);
  });

  it('gives a never-predicted class precision 0 and F1 0, and averages it into macro-F1', () => {
    const f = classFigures(cm);
    // class 0: tp 2, predicted 3, support 2 → P 2/3, R 1, F1 = 2·(2/3)/(5/3) = 0.8
    expect(f[0]!.precision).toBeCloseTo(2 / 3, 12);
    expect(f[0]!.recall).toBe(1);
    expect(f[0]!.f1).toBeCloseTo(0.8, 12);
    // class 1: tp 1, predicted 3, support 2 → P 1/3, R 1/2, F1 = 2·(1/6)/(5/6) = 0.4
    expect(f[1]!.f1).toBeCloseTo(0.4, 12);
    expect(f[2]).toEqual({ precision: 0, recall: 0, f1: 0, support: 2, predicted: 0 });
    expect(macroF1(f)).toBeCloseTo((0.8 + 0.4 + 0) / 3, 12);
  });

  it('leaves a class absent from truth and predictions out of the macro average', () => {
    const f = classFigures(confusionMatrix([0, 1, 1], [0, 1, 0], 3));
    expect(f[2]).toEqual({ precision: null, recall: null, f1: null, support: 0, predicted: 0 });
    // class 0: P 1/2, R 1 → F1 2/3; class 1: P 1, R 1/2 → F1 2/3
    expect(macroF1(f)).toBeCloseTo(2 / 3, 12);
  });

  it('gives a predicted-but-absent class recall 0', () => {
    const f = classFigures(confusionMatrix([0, 0], [0, 1], 2));
    expect(f[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0, predicted: 1 });
  });

  it('rejects out-of-range classes and mismatched lengths', () => {
    expect(() => confusionMatrix([0, 3], [0, 0], 3)).toThrow(/out of range at row 1/);
    expect(() => confusionMatrix([0], [0, 1], 3)).toThrow(/1 labels but 2 predictions/);
  });
});
