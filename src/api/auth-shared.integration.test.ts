// Login limits and tokens across API processes: two API apps (each with its own database connection,
// its own UserStore and its own Redis connection — as two `secondread serve` processes would have)
// on one SQLite file — and again on one PostgreSQL database — and one Redis. Failed logins counted by one process count on the other; parallel
// guesses spread over both cannot overrun the limit; a token revoked, ended, expired or whose user is
// disabled through one process is refused by the other on the very next request. With the per-process
// limiter the same sequence gets through (the contrast shows what Redis adds). Needs Redis:
// TEST_REDIS_URL (else REDIS_URL, else redis://127.0.0.1:6379); with CI or TEST_REDIS_URL set, a
// missing Redis fails the run instead of skipping it.
import { randomBytes } from 'node:crypto';

import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import { silentLogger } from '../core/logger.js';
import { Metrics } from '../monitoring/metrics.js';
import type { Db, DbDialect } from '../storage/db.js';
import { UserStore } from '../workflow/users.js';
import { buildApp } from './app.js';
import { type LoginLimiter, MemoryLoginLimiter } from './rate-limit.js';
import { RedisLoginLimiter } from './rate-limit-redis.js';
import { type ApiFixture, openApiFixture } from './testing/fixture.js';

const CHEAP = { N: 1024, r: 8, p: 1 };
const PASSWORD = 'correct horse battery';

async function redisUrlForTests(): Promise<string | undefined> {
  const url = process.env.TEST_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {}); // the connect() rejection below says why
  try {
    await probe.connect();
    await probe.ping();
    return url;
  } catch (err) {
    const reason = `Redis at ${url.replace(/\/\/[^@]*@/, '//***@')} is unreachable: ${(err as Error).message}`;
    if (process.env.TEST_REDIS_URL || process.env.CI) throw new Error(`${reason} (TEST_REDIS_URL/CI is set, so this is a failure, not a skip)`, { cause: err });
    console.warn(`SKIPPING shared login-limit tests: ${reason}. Set TEST_REDIS_URL to run them.`);
    return undefined;
  } finally {
    probe.disconnect();
  }
}

const redisUrl = await redisUrlForTests();
const dialects: DbDialect[] = redisUrl && (await postgresUrlForTests()) ? ['sqlite', 'postgres'] : ['sqlite'];

/** Two API "processes": the fixture's app and a second one on its own connection (pool) to the same database. */
interface Pair {
  f: ApiFixture;
  other: Db;
  users2: UserStore;
  app1: FastifyInstance;
  app2: FastifyInstance;
  close(): Promise<void>;
}

async function openPair(limiters: () => LoginLimiter, dialect: DbDialect = 'sqlite'): Promise<Pair> {
  const l1 = limiters();
  const l2 = limiters();
  const f = await openApiFixture({ dialect, deps: { loginLimiter: l1 } });
  const other = f.tracking.t.openAnother();
  const users2 = new UserStore(other, { scrypt: CHEAP });
  const app2 = await buildApp({
    logger: silentLogger,
    db: other,
    registry: f.registry,
    serving: f.serving,
    evaluations: f.evaluations,
    metrics: new Metrics({ processMetrics: false }),
    users: users2,
    accounts: users2,
    loginLimiter: l2,
  });
  await app2.ready();
  return {
    f,
    other,
    users2,
    app1: f.app,
    app2,
    close: async () => {
      await app2.close();
      await other.destroy();
      await f.close();
      await l1.close();
      await l2.close();
    },
  };
}

function login(app: FastifyInstance, name: string, password: string, ip: string) {
  return app.inject({ method: 'POST', url: '/v1/auth/login', payload: { name, password }, remoteAddress: ip });
}

function me(app: FastifyInstance, token: string) {
  return app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${token}` } });
}

describe.skipIf(!redisUrl).each(dialects)('login limits shared through Redis, tokens checked by every process (%s)', (dialect) => {
  const prefix = `secondread:test:${randomBytes(6).toString('hex')}:`;
  let p: Pair;

  beforeAll(async () => {
    p = await openPair(() => new RedisLoginLimiter({ redisUrl: redisUrl!, logger: silentLogger, prefix }), dialect);
    await p.users2.addUserWithPassword({ name: 'nina', role: 'reader', password: PASSWORD });
    await p.users2.addUserWithPassword({ name: 'omar', role: 'reader', password: PASSWORD });
  });

  afterAll(async () => {
    await p?.close();
    const r = new Redis(redisUrl!);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
  });

  it('failures for one user name on process 1 count on process 2: the 6th attempt is 429 on both, even with the right password', async () => {
    const statuses: number[] = [];
    // Five wrong guesses from five addresses (so only the name's count can trip), alternating processes.
    for (let i = 0; i < 5; i++) statuses.push((await login(i % 2 ? p.app2 : p.app1, 'nina', `wrong guess ${i}`, `10.1.0.${i}`)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const blocked = await login(p.app2, 'nina', PASSWORD, '10.1.0.99');
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ code: 'rate_limited' });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(800); // ≈ the 15-min window
    expect((await login(p.app1, 'nina', PASSWORD, '10.1.0.98')).statusCode).toBe(429);
  });

  it('failures from one client IP on process 2 count on process 1, across user names', async () => {
    for (let i = 0; i < 5; i++) expect((await login(i % 2 ? p.app1 : p.app2, `ghost${i}`, 'wrong password', '10.2.0.1')).statusCode).toBe(401);
    const blocked = await login(p.app1, 'omar', PASSWORD, '10.2.0.1');
    expect(blocked.statusCode).toBe(429);
    // Another address logs omar in: the IP was blocked, not the name.
    expect((await login(p.app1, 'omar', PASSWORD, '10.2.0.2')).statusCode).toBe(200);
  });

  it('12 parallel wrong guesses spread over both processes: exactly 5 are judged (401), 7 are refused (429)', async () => {
    await p.users2.addUserWithPassword({ name: 'pia', role: 'reader', password: PASSWORD });
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => login(i % 2 ? p.app2 : p.app1, 'pia', `guess ${i}`, `10.3.0.${i}`)));
    const counts = rs.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.statusCode]: (acc[r.statusCode] ?? 0) + 1 }), {});
    expect(counts).toEqual({ 401: 5, 429: 7 });
  });

  it('a success clears the name’s failures for both processes', async () => {
    await p.users2.addUserWithPassword({ name: 'quin', role: 'reader', password: PASSWORD });
    for (let i = 0; i < 4; i++) expect((await login(p.app1, 'quin', 'wrong password', `10.4.0.${i}`)).statusCode).toBe(401);
    expect((await login(p.app2, 'quin', PASSWORD, '10.4.1.1')).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(p.app1, 'quin', 'wrong password', `10.4.2.${i}`)).statusCode).toBe(401);
    expect((await login(p.app1, 'quin', PASSWORD, '10.4.3.1')).statusCode).toBe(200);
  });

  it('a session ended through process 1 is refused by process 2 on the next request', async () => {
    const s = await login(p.app1, 'omar', PASSWORD, '10.5.0.1');
    expect(s.statusCode).toBe(200);
    const token = s.json<{ token: string }>().token;
    expect((await me(p.app2, token)).statusCode).toBe(200);
    expect((await p.app1.inject({ method: 'POST', url: '/v1/auth/logout', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(204);
    const after = await me(p.app2, token);
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ code: 'unauthenticated' });
  });

  it('an API token revoked, or a user disabled, through process 1 is refused by process 2 at once', async () => {
    const { token, tokenId } = await p.f.users.addUser({ name: 'rolf', role: 'reader' });
    const kept = await p.f.users.createToken('rolf', 'kept');
    expect((await me(p.app2, token)).statusCode).toBe(200);
    await p.f.users.revokeToken(tokenId);
    expect((await me(p.app2, token)).statusCode).toBe(401);
    expect((await me(p.app2, kept.token)).statusCode).toBe(200);
    await p.f.users.disableUser('rolf');
    expect((await me(p.app2, kept.token)).statusCode).toBe(401);
  });

  it('a session that expires is refused by both processes from its expiry on', async () => {
    const s = (await p.f.users.login('omar', PASSWORD, { ttlMs: 1500 }))!;
    expect((await me(p.app1, s.token)).statusCode).toBe(200);
    expect((await me(p.app2, s.token)).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, Date.parse(s.expiresAt) - Date.now() + 50));
    expect((await me(p.app1, s.token)).statusCode).toBe(401);
    expect((await me(p.app2, s.token)).statusCode).toBe(401);
  });
});

describe('without a shared store', () => {
  it('per-process limiters let the same sequence through on the second process (what Redis adds)', async () => {
    const p = await openPair(() => new MemoryLoginLimiter());
    try {
      await p.users2.addUserWithPassword({ name: 'nina', role: 'reader', password: PASSWORD });
      for (let i = 0; i < 5; i++) await login(i % 2 ? p.app2 : p.app1, 'nina', `wrong guess ${i}`, `10.1.0.${i}`);
      expect((await login(p.app2, 'nina', PASSWORD, '10.1.0.99')).statusCode).toBe(200);
    } finally {
      await p.close();
    }
  });

  it('Redis not answering: logins are still judged and limited, in this process', async () => {
    const limiter = new RedisLoginLimiter({ redisUrl: 'redis://127.0.0.1:1', logger: silentLogger, commandTimeoutMs: 300 });
    const p = await openPair(() => limiter);
    try {
      await p.users2.addUserWithPassword({ name: 'nina', role: 'reader', password: PASSWORD });
      for (let i = 0; i < 5; i++) expect((await login(p.app1, 'nina', 'wrong password', '10.6.0.1')).statusCode).toBe(401);
      expect((await login(p.app1, 'nina', PASSWORD, '10.6.0.1')).statusCode).toBe(429);
      expect((await login(p.app1, 'nina', PASSWORD, '10.6.0.2')).statusCode).toBe(429); // the name is blocked too
    } finally {
      await p.close();
    }
  });
});
