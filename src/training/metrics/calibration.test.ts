// Checked against values computed by hand (worked out in the comments).
import { describe, expect, it } from 'vitest';

import { expectedCalibrationError } from './calibration.js';

describe('expected calibration error', () => {
  it('bins by top probability into (b/B, (b+1)/B] and weights |accuracy − confidence| by bin share', () => {
    const probs = [
      0.9,
      0.1, // label 0: conf 0.9, correct     → bin (0.8, 1]
      0.95,
      0.05, // label 1: conf 0.95, wrong    → bin (0.8, 1]
      0.3,
      0.7, // label 1: conf 0.7, correct     → bin (0.6, 0.8]
      0.55,
      0.45, // label 1: conf 0.55, wrong    → bin (0.4, 0.6]
    ];
    const { ece, bins } = expectedCalibrationError(probs, [0, 1, 1, 1], 2, 5);
    // (0.8,1]: n 2, acc 0.5, conf 0.925 → 2/4 · 0.425 = 0.2125
    // (0.6,0.8]: n 1, acc 1, conf 0.7 → 1/4 · 0.3 = 0.075
    // (0.4,0.6]: n 1, acc 0, conf 0.55 → 1/4 · 0.55 = 0.1375
    expect(ece).toBeCloseTo(0.425, 12);
    expect(bins.map((b) => b.count)).toEqual([0, 0, 1, 1, 2]);
    expect(bins[4]!.confidence).toBeCloseTo(0.925, 12);
    expect(bins[0]!.accuracy).toBeNull();
  });

  it('puts a confidence on a bin edge into the lower bin', () => {
    const { bins } = expectedCalibrationError([0.8, 0.2, 0.6, 0.4], [0, 0], 2, 5);
    expect(bins.map((b) => b.count)).toEqual([0, 0, 1, 1, 0]);
  });

  it('is 0 for perfectly calibrated bins', () => {
    // two rows at confidence 0.5 (one right, one wrong) → accuracy 0.5 = confidence
    expect(expectedCalibrationError([0.5, 0.5, 0.5, 0.5], [0, 1], 2, 10).ece).toBe(0);
  });
});
