// A sliding-window failure limiter kept in memory: at most `limit` failures per key (a client IP, a
// user name) in any `windowMs`; past that, the key waits until its oldest counted failure leaves the
// window. Used by POST /v1/auth/login against password guessing.
//
// PER PROCESS: each API process has its own counts. Behind a load balancer with n API processes, a
// client can make up to n × limit attempts per window, and a restart forgets every count. A shared
// store (Redis) would make the limit global; that is future work, not something this class does.
//
// Memory is bounded: at most `maxKeys` keys, each holding at most `limit` timestamps. Keys are kept
// in the order of their latest failure, so expired keys are dropped from the front as new failures
// arrive, and when the table is full the key whose latest failure is oldest is evicted even if it is
// still counting (an attacker who floods the table with fresh keys can thus make it forget old ones;
// the bound on memory wins over completeness).
import { type Clock, systemClock } from '../core/clock.js';

export interface FailureLimiterOptions {
  /** Failures allowed per key within the window. */
  limit: number;
  windowMs: number;
  /** Keys remembered at most (default 10 000). */
  maxKeys?: number;
  clock?: Clock;
}

export class FailureLimiter {
  readonly limit: number;
  readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly clock: Clock;
  /** key → failure times (ms, ascending, within the window, at most `limit`); Map order = order of the latest failure. */
  private readonly failures = new Map<string, number[]>();

  constructor(o: FailureLimiterOptions) {
    if (!Number.isInteger(o.limit) || o.limit < 1) throw new RangeError(`limit must be a positive integer (got ${o.limit})`);
    if (!Number.isFinite(o.windowMs) || o.windowMs <= 0) throw new RangeError(`windowMs must be positive (got ${o.windowMs})`);
    const maxKeys = o.maxKeys ?? 10_000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError(`maxKeys must be a positive integer (got ${maxKeys})`);
    this.limit = o.limit;
    this.windowMs = o.windowMs;
    this.maxKeys = maxKeys;
    this.clock = o.clock ?? systemClock;
  }

  /** Seconds until `key` may try again (whole seconds, at least 1), or 0 when it may try now. */
  retryAfterSeconds(key: string): number {
    const now = this.clock.now().getTime();
    const times = this.live(key, now);
    if (times.length < this.limit) return 0;
    // Full: the next attempt is allowed once the oldest counted failure leaves the window.
    return Math.max(1, Math.ceil((times[0]! + this.windowMs - now) / 1000));
  }

  /**
   * Counts a failure for `key` now. Returns a function that takes exactly this failure back: a caller
   * can count an attempt up front (so parallel attempts cannot overrun the limit) and take it back when
   * the attempt turns out not to be a failure.
   */
  record(key: string): () => void {
    const now = this.clock.now().getTime();
    this.dropExpired(now);
    const times = this.live(key, now);
    times.push(now);
    if (times.length > this.limit) times.splice(0, times.length - this.limit); // only the newest `limit` decide
    this.failures.delete(key); // re-insert: the Map's order is the order of the latest failure
    this.failures.set(key, times);
    while (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value!);
    return () => {
      const current = this.failures.get(key);
      const i = current?.indexOf(now) ?? -1;
      if (i < 0) return;
      current!.splice(i, 1);
      if (current!.length === 0) this.failures.delete(key);
    };
  }

  /** Forgets every failure of `key`. */
  reset(key: string): void {
    this.failures.delete(key);
  }

  /** Keys currently remembered (for tests and metrics). */
  get size(): number {
    return this.failures.size;
  }

  /** The key's failures still inside the window (the stored array, pruned in place). */
  private live(key: string, now: number): number[] {
    const times = this.failures.get(key);
    if (!times) return [];
    const first = times.findIndex((t) => t > now - this.windowMs);
    if (first === -1) {
      this.failures.delete(key);
      return [];
    }
    if (first > 0) times.splice(0, first);
    return times;
  }

  /** Drops keys whose latest failure left the window; they sit at the front of the Map. */
  private dropExpired(now: number): void {
    for (const [key, times] of this.failures) {
      if (times[times.length - 1]! > now - this.windowMs) break;
      this.failures.delete(key);
    }
  }
}
