// The shared softmax and argmax, against values worked out by hand, and the inputs they refuse.
import { describe, expect, it } from 'vitest';

import { ValidationError } from './errors.js';
import { argmaxRow, logitRows, rankClasses, softmaxRows } from './probabilities.js';

describe('softmaxRows', () => {
  it('matches the closed form per row, with and without a temperature', () => {
    const p = softmaxRows([0, Math.log(3), Math.log(4), 0], 2);
    expect([...p].map((v) => Number(v.toFixed(12)))).toEqual([0.25, 0.75, 0.8, 0.2]);
    // T = 2 halves the logits: softmax([0, ln 3 / 2]) = [1/(1+√3), √3/(1+√3)]
    expect(softmaxRows([0, Math.log(3)], 2, 2)[1]).toBeCloseTo(Math.sqrt(3) / (1 + Math.sqrt(3)), 12);
  });

  it('does not overflow on large logits and reads Float32Array rows', () => {
    expect([...softmaxRows(new Float32Array([1000, 1000, 1000, 1000]), 4)]).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('refuses a temperature that is not positive and a ragged length', () => {
    expect(() => softmaxRows([1, 2], 2, 0)).toThrow(ValidationError);
    expect(() => softmaxRows([1, 2], 2, Number.NaN)).toThrow(ValidationError);
    expect(() => logitRows([1, 2, 3], 2)).toThrow('3 logits is not a multiple of 2 classes');
    expect(logitRows([1, 2, 3, 4, 5, 6], 3)).toBe(2);
  });
});

describe('argmaxRow', () => {
  it('finds the largest of a row, the first one on ties', () => {
    expect(argmaxRow([0.1, 0.7, 0.2])).toBe(1);
    expect(argmaxRow([5, 5, 1])).toBe(0);
    expect(argmaxRow([9, 0, 1, 3, 2, 3], 3, 3)).toBe(0);
    expect(argmaxRow([9, 0, 1, 1, 2, 3], 3, 3)).toBe(2);
  });
});

describe('rankClasses', () => {
  it('names one row of probabilities, most probable first, ties in class order', () => {
    const probs = [0.2, 0.5, 0.3, 0.4, 0.2, 0.4];
    expect(rankClasses(['a', 'b', 'c'], probs)).toEqual([
      { class: 'b', probability: 0.5 },
      { class: 'c', probability: 0.3 },
      { class: 'a', probability: 0.2 },
    ]);
    expect(rankClasses(['a', 'b', 'c'], probs, 1).map((p) => p.class)).toEqual(['a', 'c', 'b']);
  });
});
