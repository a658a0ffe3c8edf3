// Failed-login limits: at most `limit` failures per key (a client IP, a user name) in any sliding
// `windowMs`; past that, the key waits until its oldest counted failure leaves the window. Used by
// POST /v1/auth/login against password guessing, through the LoginLimiter interface, in two forms:
//
// - MemoryLoginLimiter (FailureLimiter tables in this process): each API process has its own counts, so
//   behind a load balancer with n API processes a client can make up to n × limit attempts per window,
//   and a restart forgets every count. The default when no Redis is configured.
// - RedisLoginLimiter (rate-limit-redis.ts): the same rule on sorted sets in Redis, checked and counted
//   in one script, so every API process sharing the Redis shares the counts (REDIS_URL configured).
//
// FailureLimiter's memory is bounded: at most `maxKeys` keys, each holding at most `limit` timestamps.
// Keys are kept in the order of their latest failure, so expired keys are dropped from the front as new
// failures arrive, and when the table is full the key whose latest failure is oldest is evicted even if
// it is still counting (an attacker who floods the table with fresh keys can thus make it forget old
// ones; the bound on memory wins over completeness).
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

/** One login attempt, counted up front as a failure for its client IP and its user name. */
export interface LoginAttempt {
  /** The password was right: the IP's failure is taken back and the name's failures are forgotten. */
  succeeded(): Promise<void>;
  /** The attempt could not be judged (a server error): both counts are taken back. */
  abandon(): Promise<void>;
}

/** Failed-login limits per client IP and per user name (the attempt is a failure unless taken back). */
export interface LoginLimiter {
  readonly limit: number;
  readonly windowMs: number;
  /** Whether the counts are shared by every API process using the same store. */
  readonly shared: boolean;
  /**
   * Either the seconds to wait (the IP or the name is at its limit; nothing is counted), or the
   * attempt, already counted for both — so parallel guesses cannot overrun the limit while the
   * password hash is computed.
   */
  begin(ip: string, name: string): Promise<{ retryAfterSeconds: number } | { attempt: LoginAttempt }>;
  close(): Promise<void>;
}

export interface LoginLimiterOptions {
  /** Failed logins allowed per client IP and per user name within the window (default 5). */
  failures?: number;
  /** The sliding window (default 15 min). */
  windowMs?: number;
  /** Client IPs and user names remembered at most, each (default 10 000; the in-memory limiter only). */
  maxKeys?: number;
  clock?: Clock;
}

export const DEFAULT_LOGIN_FAILURES = 5;
export const DEFAULT_LOGIN_WINDOW_MS = 15 * 60 * 1000;

/** The per-process limiter: two tables, so a flood of made-up names cannot evict the counts of client IPs (or the reverse). */
export class MemoryLoginLimiter implements LoginLimiter {
  readonly limit: number;
  readonly windowMs: number;
  readonly shared = false;
  private readonly byIp: FailureLimiter;
  private readonly byName: FailureLimiter;

  constructor(o: LoginLimiterOptions = {}) {
    const limits = { limit: o.failures ?? DEFAULT_LOGIN_FAILURES, windowMs: o.windowMs ?? DEFAULT_LOGIN_WINDOW_MS, maxKeys: o.maxKeys, clock: o.clock };
    this.byIp = new FailureLimiter(limits);
    this.byName = new FailureLimiter(limits);
    this.limit = this.byIp.limit;
    this.windowMs = this.byIp.windowMs;
  }

  begin(ip: string, name: string): Promise<{ retryAfterSeconds: number } | { attempt: LoginAttempt }> {
    const wait = Math.max(this.byIp.retryAfterSeconds(ip), this.byName.retryAfterSeconds(name));
    if (wait > 0) return Promise.resolve({ retryAfterSeconds: wait });
    const undoIp = this.byIp.record(ip);
    const undoName = this.byName.record(name);
    return Promise.resolve({
      attempt: {
        succeeded: () => {
          undoIp();
          this.byName.reset(name);
          return Promise.resolve();
        },
        abandon: () => {
          undoIp();
          undoName();
          return Promise.resolve();
        },
      },
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
