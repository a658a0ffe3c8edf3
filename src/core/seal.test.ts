import { describe, expect, it } from 'vitest';

import { openSealed, SealError, sealJson } from './seal.js';

const key = Buffer.alloc(32, 3);

describe('sealJson / openSealed', () => {
  it('round-trips a value; each seal differs (random nonce) and shows nothing of the value', () => {
    const value = { patient: { id: 'PAT-123', name: 'Doe^Jane' }, n: 1 };
    const a = sealJson(key, 'p', value);
    const b = sealJson(key, 'p', value);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a.includes('PAT') || a.includes('Doe')).toBe(false);
    expect(openSealed(key, 'p', a)).toEqual(value);
  });

  it('refuses another key, another purpose, a flipped byte, a truncation and a foreign format', () => {
    const s = sealJson(key, 'purpose-a', { x: 1 });
    expect(() => openSealed(Buffer.alloc(32, 4), 'purpose-a', s)).toThrow(SealError);
    expect(() => openSealed(key, 'purpose-b', s)).toThrow(SealError);
    const raw = Buffer.from(s.slice(3), 'base64url');
    for (const at of [0, 13, raw.length - 1]) {
      const t = Buffer.from(raw);
      t[at]! ^= 1;
      expect(() => openSealed(key, 'purpose-a', `v1.${t.toString('base64url')}`)).toThrow(SealError);
    }
    expect(() => openSealed(key, 'purpose-a', `v1.${raw.subarray(0, 20).toString('base64url')}`)).toThrow(SealError);
    expect(() => openSealed(key, 'purpose-a', 'v2.abc')).toThrow(SealError);
    expect(() => sealJson(Buffer.alloc(8), 'p', 1)).toThrow(SealError);
  });
});
