// The clocks tests pin time with: a fixed one that hands out copies, a manual one that moves only when told.
import { describe, expect, it } from 'vitest';

import { fixedClock, manualClock } from './clock.js';

describe('clocks', () => {
  it('a fixed clock always reads the same instant, as a fresh Date each time', () => {
    const c = fixedClock('2024-05-01T10:00:00.000Z');
    const a = c.now();
    a.setTime(0);
    expect(c.now().toISOString()).toBe('2024-05-01T10:00:00.000Z');
  });

  it('a manual clock moves only when advanced', () => {
    const c = manualClock('2024-05-01T10:00:00.000Z');
    expect(c.now().toISOString()).toBe('2024-05-01T10:00:00.000Z');
    expect(c.advance(1500)).toBe(Date.parse('2024-05-01T10:00:01.500Z'));
    expect(c.now().toISOString()).toBe('2024-05-01T10:00:01.500Z');
    expect(manualClock().now().toISOString()).toBe('2024-05-01T10:00:00.000Z');
  });
});
