import { describe, expect, it } from 'vitest';

import { intensityStats } from './intensity.js';

describe('intensityStats', () => {
  it('computes mean and population std', () => {
    expect(intensityStats(new Uint8Array([0, 0, 255, 255]))).toEqual({ mean: 127.5, std: 127.5 });
    expect(intensityStats(new Uint8Array([9, 9, 9]))).toEqual({ mean: 9, std: 0 });
  });
});
