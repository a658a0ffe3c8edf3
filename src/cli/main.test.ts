import { describe, expect, it, vi } from 'vitest';

import { main } from './main.js';

describe('secondread CLI', () => {
  it('prints help and exits 0', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['node', 'secondread', '--help'])).toBe(0);
      expect(out.mock.calls.map((c) => String(c[0])).join('')).toMatch(/second reader/);
    } finally {
      out.mockRestore();
    }
  });

  it('rejects an unknown command with a non-zero exit and no stack trace', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['node', 'secondread', 'frobnicate'])).not.toBe(0);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).not.toMatch(/at .*\.ts:\d+/);
    } finally {
      err.mockRestore();
    }
  });
});
