import { describe, expect, it } from 'vitest';

import { manualClock } from '../core/clock.js';
import { FailureLimiter } from './rate-limit.js';

describe('FailureLimiter', () => {
  it('allows `limit` failures per window, then answers the seconds until the oldest leaves the window', () => {
    const clock = manualClock();
    const l = new FailureLimiter({ limit: 3, windowMs: 60_000, clock });
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfterSeconds('a')).toBe(0);
      l.record('a');
      clock.advance(10_000);
    }
    // failures at 0 s, 10 s, 20 s; now 30 s: the one at 0 s leaves at 60 s
    expect(l.retryAfterSeconds('a')).toBe(30);
    expect(l.retryAfterSeconds('b')).toBe(0);
    clock.advance(29_999);
    expect(l.retryAfterSeconds('a')).toBe(1);
    clock.advance(1);
    expect(l.retryAfterSeconds('a')).toBe(0);
    l.record('a'); // 10 s, 20 s, 60 s: full again until 10 s leaves at 70 s
    expect(l.retryAfterSeconds('a')).toBe(10);
  });

  it('reset forgets a key; undo takes back exactly one recorded failure', () => {
    const clock = manualClock();
    const l = new FailureLimiter({ limit: 2, windowMs: 60_000, clock });
    l.record('a');
    l.record('a');
    expect(l.retryAfterSeconds('a')).toBeGreaterThan(0);
    l.reset('a');
    expect(l.retryAfterSeconds('a')).toBe(0);
    l.record('a');
    clock.advance(1000);
    const undo = l.record('a');
    expect(l.retryAfterSeconds('a')).toBe(59);
    undo();
    expect(l.retryAfterSeconds('a')).toBe(0);
    undo(); // a second call changes nothing
    l.record('a');
    expect(l.retryAfterSeconds('a')).toBe(59);
  });

  it('memory is bounded: expired keys are dropped, and the stalest key is evicted when full', () => {
    const clock = manualClock();
    const l = new FailureLimiter({ limit: 1, windowMs: 60_000, maxKeys: 3, clock });
    for (const k of ['a', 'b', 'c']) l.record(k);
    expect(l.size).toBe(3);
    l.record('d'); // full: 'a' (stalest) goes
    expect(l.size).toBe(3);
    expect([l.retryAfterSeconds('a'), l.retryAfterSeconds('b'), l.retryAfterSeconds('d')]).toEqual([0, 60, 60]);
    l.record('b'); // refreshes b's place in the order (b is still limited; a failure while limited still counts)
    l.record('e'); // evicts c, not b
    expect(l.retryAfterSeconds('c')).toBe(0);
    expect(l.retryAfterSeconds('b')).toBe(60);
    clock.advance(60_000);
    l.record('f'); // everything else has expired
    expect(l.size).toBe(1);
  });

  it('keeps at most `limit` timestamps per key however many failures arrive', () => {
    const clock = manualClock();
    const l = new FailureLimiter({ limit: 5, windowMs: 60_000, clock });
    for (let i = 0; i < 1000; i++) {
      l.record('a');
      clock.advance(10);
    }
    // the newest five decide: the oldest of them was 50 ms ago
    expect(l.retryAfterSeconds('a')).toBe(60);
    clock.advance(59_951);
    expect(l.retryAfterSeconds('a')).toBe(0);
  });

  it('refuses nonsense settings', () => {
    expect(() => new FailureLimiter({ limit: 0, windowMs: 1000 })).toThrow(/limit/);
    expect(() => new FailureLimiter({ limit: 1, windowMs: 0 })).toThrow(/windowMs/);
    expect(() => new FailureLimiter({ limit: 1, windowMs: 1000, maxKeys: 0 })).toThrow(/maxKeys/);
  });
});
