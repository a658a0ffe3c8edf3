import { describe, expect, it } from 'vitest';

import { pacsReturn, stowMaxBytes } from './compose.js';

describe('SECONDREAD_PACS_RETURN', () => {
  it('is off unless set to on; any other value is a configuration error, not a silent off', () => {
    expect(pacsReturn(undefined)).toBe(false);
    expect(pacsReturn('')).toBe(false);
    expect(pacsReturn('off')).toBe(false);
    expect(pacsReturn(' ON ')).toBe(true);
    expect(() => pacsReturn('yes')).toThrow(/SECONDREAD_PACS_RETURN/);
  });
});

describe('SECONDREAD_STOW_MAX_MB', () => {
  it('defaults to 256 MiB; refuses what is not a positive size', () => {
    expect(stowMaxBytes(undefined)).toBe(256 * 1024 * 1024);
    expect(stowMaxBytes('1.5')).toBe(1.5 * 1024 * 1024);
    for (const bad of ['0', '-1', 'lots', '99999']) expect(() => stowMaxBytes(bad)).toThrow(/SECONDREAD_STOW_MAX_MB/);
  });
});
