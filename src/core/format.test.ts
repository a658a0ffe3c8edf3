// Percentages for people: digits as asked, and a dash where there is no figure.
import { describe, expect, it } from 'vitest';

import { percent } from './format.js';

describe('percent', () => {
  it('formats a rate with the digits asked for', () => {
    expect(percent(0.1234)).toBe('12.3%');
    expect(percent(0.1234, 2)).toBe('12.34%');
    expect(percent(1)).toBe('100.0%');
    expect(percent(0, 0)).toBe('0%');
  });

  it('shows a dash where there is no figure', () => {
    expect(percent(null)).toBe('—');
    expect(percent(undefined)).toBe('—');
    expect(percent(Number.NaN)).toBe('—');
  });
});
