import { describe, expect, it } from 'vitest';

import { constantLr, warmupCosine } from './schedule.js';

describe('warmupCosine', () => {
  const s = warmupCosine({ peakLr: 1e-3, warmupSteps: 10, totalSteps: 110, minLr: 1e-5 });

  it('warms up linearly to the peak', () => {
    expect(s(0)).toBeCloseTo(1e-4, 12);
    expect(s(4)).toBeCloseTo(5e-4, 12);
    expect(s(9)).toBeCloseTo(1e-3, 12);
  });

  it('decays along a half cosine to minLr and stays there', () => {
    expect(s(10)).toBeCloseTo(1e-3, 12);
    expect(s(60)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5), 12);
    expect(s(110)).toBeCloseTo(1e-5, 12);
    expect(s(500)).toBeCloseTo(1e-5, 12);
    for (let i = 11; i < 110; i++) expect(s(i)).toBeLessThan(s(i - 1));
  });

  it('rejects inconsistent settings', () => {
    expect(() => warmupCosine({ peakLr: 1e-3, warmupSteps: 10, totalSteps: 5 })).toThrow(/totalSteps/);
    expect(() => warmupCosine({ peakLr: -1, warmupSteps: 0, totalSteps: 5 })).toThrow(/peakLr/);
    expect(() => warmupCosine({ peakLr: 1e-3, warmupSteps: 0, totalSteps: 5, minLr: 1 })).toThrow(/minLr/);
    expect(() => s(-1)).toThrow(/step/);
  });

  it('with no warm-up starts at the peak', () => {
    expect(warmupCosine({ peakLr: 0.1, warmupSteps: 0, totalSteps: 4 })(0)).toBe(0.1);
  });
});

describe('constantLr', () => {
  it('is constant', () => {
    expect(constantLr(0.5)(123)).toBe(0.5);
  });
});
