import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../core/ids.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { UserStore } from './users.js';

let t: TestDatabase;
beforeEach(async () => {
  t = await openTestDatabase('sqlite');
});
afterEach(async () => {
  await t.close();
});

/** A clock the test moves by hand. */
function manualClock(start = '2024-05-01T10:00:00.000Z') {
  let ms = Date.parse(start);
  return { now: () => new Date(ms), advance: (d: number) => (ms += d) };
}

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

  it('another process revoking a token is seen once the cache entry expires', async () => {
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
