import { describe, expect, it } from 'vitest';

import { pacsReturn } from './compose.js';

describe('SECONDREAD_PACS_RETURN', () => {
  it('is off unless set to on; any other value is a configuration error, not a silent off', () => {
    expect(pacsReturn(undefined)).toBe(false);
    expect(pacsReturn('')).toBe(false);
    expect(pacsReturn('off')).toBe(false);
    expect(pacsReturn(' ON ')).toBe(true);
    expect(() => pacsReturn('yes')).toThrow(/SECONDREAD_PACS_RETURN/);
  });
});
