import { describe, expect, it } from 'vitest';

import { SessionRng } from './rng.js';

describe('SessionRng', () => {
  it('restoring a saved state replays the same stream', () => {
    const a = new SessionRng(42);
    for (let i = 0; i < 10; i++) a.nextU32();
    const saved = a.getState();
    const first = Array.from({ length: 5 }, () => a.nextU32());
    const b = new SessionRng(7);
    b.setState(saved);
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(first);
  });

  it('different seeds give different streams; bytes look uniform', () => {
    expect(new SessionRng(1).nextU32()).not.toBe(new SessionRng(2).nextU32());
    const bytes = new Uint8Array(1 << 16);
    new SessionRng(3).fillBytes(bytes);
    const below26 = bytes.reduce((n, b) => n + (b < 26 ? 1 : 0), 0) / bytes.length;
    expect(Math.abs(below26 - 26 / 256)).toBeLessThan(0.01);
  });

  it('fills unaligned views and odd lengths the same as byte-wise draws', () => {
    const buf = new Uint8Array(12);
    new SessionRng(5).fillBytes(buf.subarray(1, 8));
    const ref = new Uint8Array(7);
    new SessionRng(5).fillBytes(ref);
    expect(Array.from(buf.subarray(1, 8))).toEqual(Array.from(ref));
  });

  it('rejects malformed states', () => {
    expect(() => new SessionRng(1).setState('xyz')).toThrow(/invalid RNG state/);
    expect(() => new SessionRng(1).setState('0'.repeat(32))).toThrow(/not all zero/);
  });
});
