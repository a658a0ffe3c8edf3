// The login routes on their own app (pluginApp: the same ajv, schemas, error mapping and auth as buildApp),
// with a real UserStore on a SQLite test database and a fake clock for the rate limiter.
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { manualClock } from '../../core/clock.js';
import { openTestDatabase, type TestDatabase } from '../../storage/testing.js';
import { UserStore } from '../../workflow/users.js';
import { pluginApp } from '../testing/fixture.js';
import { authRoutes } from './auth.js';

const PASSWORD = 'correct horse battery';
const CHEAP = { N: 1024, r: 8, p: 1 };

let t: TestDatabase;
let users: UserStore;
let app: FastifyInstance;
let clock: ReturnType<typeof manualClock>;
let apiToken: string;

beforeEach(async () => {
  t = await openTestDatabase('sqlite');
  clock = manualClock();
  users = new UserStore(t.db, { clock, scrypt: CHEAP });
  await users.addUserWithPassword({ name: 'rita', role: 'reader', password: PASSWORD });
  await users.addUserWithPassword({ name: 'adam', role: 'adjudicator', password: PASSWORD });
  apiToken = (await users.addUser({ name: 'emil', role: 'ml-engineer' })).token;
  app = await pluginApp(users, authRoutes, { users, rateLimit: { clock } });
});
afterEach(async () => {
  await app.close();
  await t.close();
});

function login(name: string, password: string, ip = '10.0.0.1') {
  return app.inject({ method: 'POST', url: '/v1/auth/login', payload: { name, password }, remoteAddress: ip });
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('POST /v1/auth/login', () => {
  it('name + password → a session token (12 h) that works on authenticated routes', async () => {
    const res = await login('rita', PASSWORD);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toEqual({
      token: expect.stringMatching(/^sr_[A-Za-z0-9_-]{43}$/),
      expiresAt: '2024-05-01T22:00:00.000Z',
      user: { name: 'rita', role: 'reader' },
    });
    const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(body.token) });
    expect([me.statusCode, me.json()]).toEqual([200, { name: 'rita', role: 'reader', expiresAt: '2024-05-01T22:00:00.000Z' }]);
  });

  it('wrong password and unknown user get the same 401 invalid_credentials', async () => {
    const wrong = await login('rita', 'not the password');
    const unknown = await login('nobody', PASSWORD);
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'invalid_credentials', message: 'the user name or password is wrong' });
    }
    const strip = (b: Record<string, unknown>) => ({ ...b, requestId: undefined });
    expect(strip(wrong.json())).toEqual(strip(unknown.json()));
  });

  it('a disabled user cannot log in, and their session stops working', async () => {
    const token = (await login('rita', PASSWORD)).json().token;
    await users.disableUser('rita');
    expect((await login('rita', PASSWORD)).json()).toMatchObject({ code: 'invalid_credentials' });
    expect((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) })).statusCode).toBe(401);
  });

  it('bad bodies are 400 invalid_input and do not count as failures', async () => {
    for (const payload of [
      {},
      { name: 'rita' },
      { name: 'rita', password: PASSWORD, extra: 1 },
      { name: '', password: 'x' },
      { name: 'rita', password: 'x'.repeat(1025) },
    ]) {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload });
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(res.json().code).toBe('invalid_input');
    }
    expect((await login('rita', PASSWORD)).statusCode).toBe(200);
  });

  it('an expired session token is refused', async () => {
    const token = (await login('rita', PASSWORD)).json().token;
    clock.advance(12 * 3600_000);
    const res = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) });
    expect([res.statusCode, res.json().code]).toEqual([401, 'unauthenticated']);
  });
});

describe('login rate limit', () => {
  it('5 failures for a name → 429 rate_limited with Retry-After, even with the right password; allowed again after the window', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await login('rita', `wrong password ${i}`, `10.0.1.${i}`)).statusCode).toBe(401);
      clock.advance(60_000);
    }
    const res = await login('rita', PASSWORD, '10.0.2.1');
    expect(res.statusCode).toBe(429);
    expect(res.json()).toMatchObject({ code: 'rate_limited', details: { retryAfterSeconds: 600 } });
    // first failure at 0 min, now 5 min: it leaves the 15-min window in 10 min
    expect(res.headers['retry-after']).toBe('600');
    expect((await login('adam', PASSWORD, '10.0.2.1')).statusCode).toBe(200); // another name is not affected
    clock.advance(599_000);
    expect((await login('rita', PASSWORD, '10.0.2.1')).statusCode).toBe(429);
    clock.advance(1000);
    expect((await login('rita', PASSWORD, '10.0.2.1')).statusCode).toBe(200);
  });

  it('a success clears the name failures', async () => {
    for (let i = 0; i < 4; i++) expect((await login('rita', 'wrong password', `10.0.1.${i}`)).statusCode).toBe(401);
    expect((await login('rita', PASSWORD, '10.0.3.1')).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login('rita', 'wrong password', `10.0.4.${i}`)).statusCode).toBe(401);
    expect((await login('rita', PASSWORD, '10.0.3.1')).statusCode).toBe(200); // 4 + 4 failures, but never 5 since the success
  });

  it('5 failures from one IP across names → that IP gets 429; other IPs still log in', async () => {
    for (const name of ['rita', 'adam', 'nobody', 'x1', 'x2']) expect((await login(name, 'wrong password', '10.9.9.9')).statusCode).toBe(401);
    const res = await login('rita', PASSWORD, '10.9.9.9');
    expect([res.statusCode, res.headers['retry-after']]).toEqual([429, '900']);
    expect((await login('rita', PASSWORD, '10.9.9.8')).statusCode).toBe(200);
  });

  it('a success does not give an IP its failures back', async () => {
    for (let i = 0; i < 4; i++) expect((await login(`guess${i}`, 'wrong password', '10.7.7.7')).statusCode).toBe(401);
    expect((await login('rita', PASSWORD, '10.7.7.7')).statusCode).toBe(200);
    expect((await login('guess9', 'wrong password', '10.7.7.7')).statusCode).toBe(401);
    expect((await login('adam', PASSWORD, '10.7.7.7')).statusCode).toBe(429);
  });

  it('parallel guesses cannot overrun the limit while the password is being checked', async () => {
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => login('rita', `wrong password ${i}`, '10.5.5.5')));
    const codes = all.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 401)).toHaveLength(5);
    expect(codes.filter((c) => c === 429)).toHaveLength(7);
  });
});

describe('logout and me', () => {
  it('logout revokes the presenting session (204), not the others', async () => {
    const one = (await login('rita', PASSWORD)).json().token;
    const two = (await login('rita', PASSWORD)).json().token;
    const res = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(one) });
    expect([res.statusCode, res.body]).toEqual([204, '']);
    expect((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(one) })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(one) })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(two) })).statusCode).toBe(200);
  });

  it('logout with an API token is refused (400) and leaves the token working; me shows API tokens with expiresAt null', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(apiToken) });
    expect([res.statusCode, res.json().code]).toEqual([400, 'invalid_input']);
    const me = await app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(apiToken) });
    expect(me.json()).toEqual({ name: 'emil', role: 'ml-engineer', expiresAt: null });
  });

  it('logout and me need a token', async () => {
    expect((await app.inject({ method: 'POST', url: '/v1/auth/logout' })).json().code).toBe('unauthenticated');
    expect((await app.inject({ method: 'GET', url: '/v1/auth/me' })).statusCode).toBe(401);
  });
});
