import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { manualClock } from '../core/clock.js';
import { sha256Hex } from '../core/ids.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { assertPassword, hashPassword, UserStore, verifyPassword } from './users.js';

let t: TestDatabase;
beforeEach(async () => {
  t = await openTestDatabase('sqlite');
});
afterEach(async () => {
  await t.close();
});

describe('UserStore', () => {
  it('adds a user whose token authenticates; only the sha256 is stored', async () => {
    const users = new UserStore(t.db);
    const { user, token, tokenId } = await users.addUser({ name: 'alice', role: 'ml-engineer' });
    expect(user).toMatchObject({ name: 'alice', role: 'ml-engineer', disabledAt: null });
    expect(token).toMatch(/^sr_[A-Za-z0-9_-]{43}$/);
    const rows = await t.db.selectFrom('api_tokens').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_sha256).toBe(sha256Hex(token));
    expect(JSON.stringify(rows)).not.toContain(token.slice(3));
    expect(await users.authenticate(token)).toMatchObject({ name: 'alice', role: 'ml-engineer', tokenId });
  });

  it('rejects unknown, malformed and near-miss tokens', async () => {
    const users = new UserStore(t.db);
    const { token } = await users.addUser({ name: 'bob', role: 'reader' });
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    for (const bad of ['', 'Bearer x', flipped, token + 'x', token.toUpperCase(), 'sr_' + 'a'.repeat(43)]) expect(await users.authenticate(bad)).toBeNull();
  });

  it('validates names and roles, and refuses duplicates', async () => {
    const users = new UserStore(t.db);
    await expect(users.addUser({ name: 'Alice Smith', role: 'reader' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(users.addUser({ name: 'carol', role: 'root' })).rejects.toMatchObject({ code: 'invalid_input' });
    await users.addUser({ name: 'carol', role: 'admin' });
    await expect(users.addUser({ name: 'carol', role: 'reader' })).rejects.toMatchObject({ code: 'conflict' });
    expect((await users.listUsers()).map((u) => u.name)).toEqual(['carol']);
  });

  it('a revoked token stops working at once, other tokens of the user keep working', async () => {
    const users = new UserStore(t.db);
    const first = await users.addUser({ name: 'dave', role: 'adjudicator' });
    const second = await users.createToken('dave', 'ci');
    expect(await users.authenticate(first.token)).not.toBeNull(); // now cached
    await users.revokeToken(first.tokenId);
    expect(await users.authenticate(first.token)).toBeNull();
    expect(await users.authenticate(second.token)).toMatchObject({ name: 'dave', tokenId: second.tokenId });
    await expect(users.revokeToken(first.tokenId)).rejects.toMatchObject({ code: 'conflict' });
    await expect(users.revokeToken('tok_nope')).rejects.toMatchObject({ code: 'not_found' });
    const tokens = await users.listTokens('dave');
    expect(tokens.map((x) => [x.label, x.revokedAt !== null])).toEqual([
      ['initial', true],
      ['ci', false],
    ]);
  });

  it('disabling a user disables all of their tokens', async () => {
    const users = new UserStore(t.db);
    const { token } = await users.addUser({ name: 'erin', role: 'reader' });
    expect(await users.authenticate(token)).not.toBeNull();
    await users.disableUser('erin');
    expect(await users.authenticate(token)).toBeNull();
    await expect(users.createToken('nobody', 'x')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('by default every authentication reads the database: a revocation, a disabled user or an expiry through another store is seen at once', async () => {
    const clock = manualClock();
    const here = new UserStore(t.db, { clock, scrypt: CHEAP, sessionTtlMs: 10_000 });
    const elsewhere = new UserStore(t.db, { clock });
    const { token, tokenId } = await here.addUser({ name: 'fay', role: 'reader' });
    const kept = await here.createToken('fay', 'kept');
    expect(await here.authenticate(token)).not.toBeNull();
    await elsewhere.revokeToken(tokenId);
    expect(await here.authenticate(token)).toBeNull();
    expect(await here.authenticate(kept.token)).not.toBeNull();
    await elsewhere.disableUser('fay');
    expect(await here.authenticate(kept.token)).toBeNull();
    await here.addUserWithPassword({ name: 'fred', role: 'reader', password: PASSWORD });
    const s = (await here.login('fred', PASSWORD))!;
    expect(await here.authenticate(s.token)).not.toBeNull();
    clock.advance(10_000);
    expect(await here.authenticate(s.token)).toBeNull();
  });

  it('another process revoking a token is seen once the cache entry expires (with a cache TTL)', async () => {
    const clock = manualClock();
    const here = new UserStore(t.db, { clock, cacheTtlMs: 5000 });
    const elsewhere = new UserStore(t.db, { clock });
    const { token, tokenId } = await here.addUser({ name: 'frank', role: 'reader' });
    expect(await here.authenticate(token)).not.toBeNull();
    await elsewhere.revokeToken(tokenId);
    expect(await here.authenticate(token)).not.toBeNull(); // still within the TTL
    clock.advance(5001);
    expect(await here.authenticate(token)).toBeNull();
  });

  it('records last use at most once per interval', async () => {
    const clock = manualClock();
    const users = new UserStore(t.db, { clock, cacheTtlMs: 0, touchIntervalMs: 60_000 });
    const { token } = await users.addUser({ name: 'gina', role: 'reader' });
    const lastUsed = async () => (await users.listTokens('gina'))[0]!.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    await users.authenticate(token);
    expect(await lastUsed()).toBe('2024-05-01T10:00:00.000Z');
    clock.advance(30_000);
    await users.authenticate(token);
    expect(await lastUsed()).toBe('2024-05-01T10:00:00.000Z');
    clock.advance(31_000);
    await users.authenticate(token);
    expect(await lastUsed()).toBe('2024-05-01T10:01:01.000Z');
  });
});

/** Cheap scrypt for tests (the default costs ~0.2 s a hash); the format and the checks are the same. */
const CHEAP = { N: 1024, r: 8, p: 1 };
const PASSWORD = 'correct horse battery';

describe('passwords', () => {
  it('hashes as scrypt$N$r$p$salt$hash with a fresh 16-byte salt; verifies the right password only', async () => {
    const stored = await hashPassword(PASSWORD);
    const m = /^scrypt\$32768\$8\$3\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/.exec(stored);
    expect(m, stored).not.toBeNull();
    expect(Buffer.from(m![1]!, 'base64url')).toHaveLength(16);
    expect(await verifyPassword(PASSWORD, stored)).toBe(true);
    const again = await hashPassword(PASSWORD, CHEAP);
    expect(again.split('$')[4]).not.toBe(stored.split('$')[4]);
    expect(await verifyPassword(PASSWORD, again)).toBe(true);
    expect(await verifyPassword(PASSWORD + ' ', again)).toBe(false);
    expect(await verifyPassword(PASSWORD.slice(1), again)).toBe(false);
  });

  it('matches a password however its accents are composed (NFC)', async () => {
    const composed = 'caf\u00e9 au lait, please';
    const decomposed = 'cafe\u0301 au lait, please';
    expect(await verifyPassword(decomposed, await hashPassword(composed, CHEAP))).toBe(true);
  });

  it('a malformed or out-of-range stored hash is a storage fault, not a wrong password', async () => {
    const good = await hashPassword(PASSWORD, CHEAP);
    for (const bad of [
      '',
      'plain',
      good.replace('scrypt$', 'bcrypt$'),
      good.replace('$1024$', '$1000$'),
      good.replace('$1024$', `$${2 ** 22}$`),
      good.slice(0, -4),
    ]) {
      await expect(verifyPassword(PASSWORD, bad), bad).rejects.toMatchObject({ code: 'storage_error' });
    }
  });

  it('new passwords: 12 to 1024 characters (code points)', () => {
    expect(() => assertPassword('')).toThrow(/empty/);
    expect(() => assertPassword('short pass!')).toThrow(/at least 12 characters \(got 11\)/);
    expect(assertPassword('twelve chars')).toBe('twelve chars');
    expect(assertPassword('🔑'.repeat(12))).toHaveLength(24); // 12 code points, 24 UTF-16 units
    expect(() => assertPassword('x'.repeat(1025))).toThrow(/at most 1024/);
  });
});

describe('login', () => {
  it('a user added with a password has no API token; login gives a session token that authenticates and expires after 12 h', async () => {
    const clock = manualClock();
    const users = new UserStore(t.db, { clock, scrypt: CHEAP });
    const user = await users.addUserWithPassword({ name: 'rita', role: 'reader', password: PASSWORD });
    expect(user).toMatchObject({ name: 'rita', hasPassword: true });
    expect(await users.listTokens('rita')).toEqual([]);
    const row = await t.db.selectFrom('users').select('password_hash').where('name', '=', 'rita').executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^scrypt\$1024\$8\$1\$/);

    const s = await users.login('rita', PASSWORD);
    expect(s).toMatchObject({ expiresAt: '2024-05-01T22:00:00.000Z', user: { name: 'rita', role: 'reader', hasPassword: true } });
    expect(s!.token).toMatch(/^sr_[A-Za-z0-9_-]{43}$/);
    expect(await users.authenticate(s!.token)).toMatchObject({ name: 'rita', tokenId: s!.tokenId, tokenKind: 'session', expiresAt: s!.expiresAt });
    expect(await users.listTokens('rita')).toMatchObject([{ id: s!.tokenId, kind: 'session', label: 'login', expiresAt: s!.expiresAt, revokedAt: null }]);
    clock.advance(12 * 3600_000 - 1);
    expect(await users.authenticate(s!.token)).not.toBeNull();
    clock.advance(1);
    expect(await users.authenticate(s!.token)).toBeNull();
  });

  it('a cached session does not outlive its expiry', async () => {
    const clock = manualClock();
    const users = new UserStore(t.db, { clock, scrypt: CHEAP, cacheTtlMs: 60_000, sessionTtlMs: 10_000 });
    await users.addUserWithPassword({ name: 'rita', role: 'reader', password: PASSWORD });
    const s = await users.login('rita', PASSWORD);
    expect(await users.authenticate(s!.token)).not.toBeNull(); // cached now
    clock.advance(10_000);
    expect(await users.authenticate(s!.token)).toBeNull();
  });

  it('wrong password, unknown user, malformed name, user without password, disabled user: all null', async () => {
    const users = new UserStore(t.db, { scrypt: CHEAP });
    await users.addUserWithPassword({ name: 'rita', role: 'reader', password: PASSWORD });
    await users.addUser({ name: 'tokenonly', role: 'reader' });
    await users.addUserWithPassword({ name: 'gone', role: 'reader', password: PASSWORD });
    await users.disableUser('gone');
    expect(await users.login('rita', 'correct horse battery!')).toBeNull();
    expect(await users.login('rita', '')).toBeNull();
    expect(await users.login('nobody', PASSWORD)).toBeNull();
    expect(await users.login('Not A Name', PASSWORD)).toBeNull();
    expect(await users.login('tokenonly', PASSWORD)).toBeNull();
    expect(await users.login('gone', PASSWORD)).toBeNull();
    expect(await users.login('rita', PASSWORD)).not.toBeNull();
    expect(await t.db.selectFrom('api_tokens').select('kind').where('kind', '=', 'session').execute()).toHaveLength(1);
  });

  it('an unknown user costs the same scrypt work as a known one (no timing oracle for names)', async () => {
    const users = new UserStore(t.db, { scrypt: { N: 2 ** 13, r: 8, p: 1 } });
    await users.addUserWithPassword({ name: 'rita', role: 'reader', password: PASSWORD });
    await users.login('warm-up', PASSWORD); // the dummy hash is made once, on the first login
    const time = async (name: string) => {
      const t0 = performance.now();
      expect(await users.login(name, 'a wrong password!')).toBeNull();
      return performance.now() - t0;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time('rita'));
      unknown.push(await time(`nobody${i}`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!;
    // Without the dummy hash an unknown name would answer in ~1 ms instead of the ~15 ms of one scrypt.
    expect(median(unknown) / median(known)).toBeGreaterThan(0.5);
    expect(median(unknown) / median(known)).toBeLessThan(2);
  });

  it('setPassword replaces the password and ends open sessions; API tokens keep working', async () => {
    const users = new UserStore(t.db, { scrypt: CHEAP });
    const { token: apiToken, user } = await users.addUser({ name: 'dave', role: 'adjudicator' });
    expect(user.hasPassword).toBe(false);
    await expect(users.setPassword('dave', 'too short')).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(users.setPassword('nobody', PASSWORD)).rejects.toMatchObject({ code: 'not_found' });
    await users.setPassword('dave', PASSWORD);
    expect((await users.getUser('dave')).hasPassword).toBe(true);
    const s = await users.login('dave', PASSWORD);
    expect(await users.authenticate(s!.token)).not.toBeNull();
    await users.setPassword('dave', 'a brand new passphrase');
    expect(await users.authenticate(s!.token)).toBeNull();
    expect(await users.login('dave', PASSWORD)).toBeNull();
    expect(await users.login('dave', 'a brand new passphrase')).not.toBeNull();
    expect(await users.authenticate(apiToken)).toMatchObject({ name: 'dave', tokenKind: 'api', expiresAt: null });
  });

  it('endSession ends a session at once (idempotent) and refuses API tokens', async () => {
    const users = new UserStore(t.db, { scrypt: CHEAP });
    const { tokenId: apiTokenId } = await users.addUser({ name: 'erin', role: 'reader' });
    await users.setPassword('erin', PASSWORD);
    const s = (await users.login('erin', PASSWORD))!;
    const other = (await users.login('erin', PASSWORD))!;
    expect(await users.authenticate(s.token)).not.toBeNull(); // cached now
    await users.endSession(s.tokenId);
    expect(await users.authenticate(s.token)).toBeNull();
    await users.endSession(s.tokenId);
    expect(await users.authenticate(other.token)).not.toBeNull();
    await expect(users.endSession(apiTokenId)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(users.endSession('tok_nope')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('sessions that expired over 30 days ago are deleted when the user logs in again', async () => {
    const clock = manualClock();
    const users = new UserStore(t.db, { clock, scrypt: CHEAP });
    await users.addUserWithPassword({ name: 'gina', role: 'reader', password: PASSWORD });
    const first = (await users.login('gina', PASSWORD))!;
    clock.advance(20 * 86400_000);
    const second = (await users.login('gina', PASSWORD))!;
    expect((await users.listTokens('gina')).map((x) => x.id)).toEqual([first.tokenId, second.tokenId]);
    clock.advance(11 * 86400_000);
    const third = (await users.login('gina', PASSWORD))!;
    expect((await users.listTokens('gina')).map((x) => x.id)).toEqual([second.tokenId, third.tokenId]);
  });
});
