// Failed-login limits shared by every API process through Redis (REDIS_URL configured): the rule of
// MemoryLoginLimiter (rate-limit.ts) on one sorted set per client IP and per user name, scored by the
// failure's time in ms. One Lua script prunes both sets to the window, answers the wait when either is
// full, and otherwise counts the attempt in both — atomically, so parallel guesses on several processes
// cannot overrun the limit between a check and a count. Each set keeps only its newest `limit` members
// and expires with the window, so Redis memory per key is bounded and idle keys disappear.
//
// When Redis does not answer (down, timed out), logins are not refused for it: the attempt is judged
// by an in-process MemoryLoginLimiter instead (limits per process, as without Redis), and a warning is
// logged at most every 10 s. Refusing every login while Redis restarts would lock out the clinic.
import { randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';

import { type Clock, systemClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { redactUrl } from '../core/redact.js';
import {
  DEFAULT_LOGIN_FAILURES,
  DEFAULT_LOGIN_WINDOW_MS,
  type LoginAttempt,
  type LoginLimiter,
  type LoginLimiterOptions,
  MemoryLoginLimiter,
} from './rate-limit.js';

/** KEYS: the IP's set, the name's set. ARGV: now (ms), window (ms), limit, member. → 0 (counted) or the ms to wait. */
const BEGIN = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local wait = 0
for i = 1, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], -limit, -limit, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now, ARGV[4])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(limit + 1))
  redis.call('PEXPIRE', KEYS[i], window)
end
return 0
`;

export interface RedisLoginLimiterOptions extends LoginLimiterOptions {
  redisUrl: string;
  logger: Logger;
  /** Key prefix (default `secondread:login:`); tests use their own. */
  prefix?: string;
  /** How long one Redis command may take before the attempt is judged in memory instead (default 1000 ms). */
  commandTimeoutMs?: number;
}

export class RedisLoginLimiter implements LoginLimiter {
  readonly limit: number;
  readonly windowMs: number;
  readonly shared = true;
  private readonly redis: Redis;
  private readonly clock: Clock;
  private readonly prefix: string;
  private readonly fallback: MemoryLoginLimiter;
  private lastWarning = 0;

  constructor(private readonly o: RedisLoginLimiterOptions) {
    this.limit = o.failures ?? DEFAULT_LOGIN_FAILURES;
    this.windowMs = o.windowMs ?? DEFAULT_LOGIN_WINDOW_MS;
    if (!Number.isInteger(this.limit) || this.limit < 1) throw new RangeError(`limit must be a positive integer (got ${this.limit})`);
    if (!Number.isInteger(this.windowMs) || this.windowMs <= 0) throw new RangeError(`windowMs must be a positive integer (got ${this.windowMs})`);
    this.clock = o.clock ?? systemClock;
    // The hash tag keeps an IP's and a name's set in one slot, so the script may touch both on a cluster.
    this.prefix = `${o.prefix ?? 'secondread:login:'}{login}:`;
    this.fallback = new MemoryLoginLimiter(o);
    // Commands fail after one reconnect try or the timeout, instead of waiting in ioredis's queue.
    this.redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: o.commandTimeoutMs ?? 1000 });
    this.redis.on('error', (err: Error) => this.warn(err));
  }

  async begin(ip: string, name: string): Promise<{ retryAfterSeconds: number } | { attempt: LoginAttempt }> {
    const keys = [`${this.prefix}ip:${ip}`, `${this.prefix}name:${name}`] as const;
    const member = `${this.clock.now().getTime()}:${randomBytes(6).toString('base64url')}`;
    let waitMs: number;
    try {
      waitMs = Number(await this.redis.eval(BEGIN, 2, keys[0], keys[1], this.clock.now().getTime(), this.windowMs, this.limit, member));
    } catch (err) {
      this.warn(err as Error);
      return this.fallback.begin(ip, name);
    }
    if (waitMs > 0) return { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    return {
      attempt: {
        succeeded: () => this.quietly(this.redis.multi().zrem(keys[0], member).del(keys[1]).exec()),
        abandon: () => this.quietly(this.redis.multi().zrem(keys[0], member).zrem(keys[1], member).exec()),
      },
    };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Taking a count back is best effort: a failure only leaves one extra counted failure, which expires with the window. */
  private async quietly(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      this.warn(err as Error);
    }
  }

  private warn(err: Error): void {
    const now = Date.now();
    if (now - this.lastWarning < 10_000) return;
    this.lastWarning = now;
    this.o.logger.warn(
      { err: err.message, redis: redactUrl(this.o.redisUrl) },
      'login rate limits: Redis is not answering (counting in this process meanwhile)',
    );
  }
}
