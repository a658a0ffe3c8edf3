import { describe, expect, it } from 'vitest';

import { linearScale, niceTicks, tickLabel } from './scale.js';

describe('chart scales', () => {
  it('nice ticks: round steps covering the data', () => {
    expect(niceTicks(0, 1)).toEqual({ ticks: [0, 0.2, 0.4, 0.6, 0.8, 1], min: 0, max: 1 });
    expect(niceTicks(0.13, 2.87, 5)).toEqual({ ticks: [0, 0.5, 1, 1.5, 2, 2.5, 3], min: 0, max: 3 });
    expect(niceTicks(3, 97, 4).ticks).toEqual([0, 25, 50, 75, 100]);
    const cost = niceTicks(-0.06, 0, 5);
    expect(cost.ticks).toContain(0);
    expect(cost.ticks.map(tickLabel).every((l) => !l.includes('e'))).toBe(true);
    expect(niceTicks(0.1, 0.7, 6).ticks).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    const t = niceTicks(-12, 7);
    expect(t.min).toBeLessThanOrEqual(-12);
    expect(t.max).toBeGreaterThanOrEqual(7);
  });

  it('degenerate domains still give an axis', () => {
    expect(niceTicks(5, 5).ticks.length).toBeGreaterThanOrEqual(2);
    expect(niceTicks(0, 0)).toMatchObject({ min: -1, max: 1 });
    expect(niceTicks(NaN, 1)).toEqual({ ticks: [0, 1], min: 0, max: 1 });
    expect(niceTicks(10, 0).min).toBe(0);
  });

  it('linear scale maps ends to ends (SVG y runs downwards)', () => {
    const y = linearScale(0, 1, 200, 0);
    expect([y(0), y(1), y(0.25)]).toEqual([200, 0, 150]);
    expect(linearScale(3, 3, 0, 10)(42)).toBe(5);
  });

  it('tick labels without float noise', () => {
    expect([tickLabel(0.1 + 0.2), tickLabel(25000), tickLabel(2_500_000), tickLabel(0), tickLabel(-0.5)]).toEqual(['0.3', '25k', '2.5M', '0', '-0.5']);
  });
});
