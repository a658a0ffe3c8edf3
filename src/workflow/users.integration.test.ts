// Users and login on a real PostgreSQL: migration 0005 applied over a database that already has users
// and API tokens (they stay API tokens, without expiry), then passwords, session tokens, their
// expiry and logout, with two pools as two API processes.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import { manualClock } from '../core/clock.js';
import { sha256Hex } from '../core/ids.js';
import { type Db, migrateToLatest } from '../storage/db.js';
import { migrations } from '../storage/migrations/index.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { UserStore } from './users.js';

const url = await postgresUrlForTests();
const CHEAP = { N: 1024, r: 8, p: 1 };
const PASSWORD = 'correct horse battery';
const OLD_TOKEN = `sr_${'A'.repeat(43)}`;

describe.skipIf(!url)('users and login on PostgreSQL', () => {
  let t: TestDatabase;
  let other: Db;
  beforeAll(async () => {
    const before0005 = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0005'));
    t = await openTestDatabase('postgres', { url, migrate: before0005 });
    await sql`insert into users (id, name, role, created_at) values ('usr_old', 'olga', 'admin', '2024-01-01T00:00:00.000Z')`.execute(t.db);
    await sql`insert into api_tokens (id, user_id, token_sha256, label, created_at) values ('tok_old', 'usr_old', ${sha256Hex(OLD_TOKEN)}, 'initial', '2024-01-01T00:00:00.000Z')`.execute(
      t.db,
    );
    // Later migrations run too; 0005 must be the first to run over this database, and succeed.
    expect((await migrateToLatest(t.db)).results?.map((r) => [r.migrationName, r.status])[0]).toEqual(['0005_auth_login', 'Success']);
    other = t.openAnother();
  });
  afterAll(async () => {
    await other?.destroy();
    await t?.close();
  });

  it('tokens made before the migration are API tokens without expiry; their users have no password', async () => {
    const users = new UserStore(t.db, { scrypt: CHEAP });
    expect(await users.authenticate(OLD_TOKEN)).toMatchObject({ name: 'olga', tokenId: 'tok_old', tokenKind: 'api', expiresAt: null, hasPassword: false });
    expect(await users.login('olga', PASSWORD)).toBeNull();
  });

  it('password, session token, expiry and logout across two pools', async () => {
    const clock = manualClock();
    const here = new UserStore(t.db, { clock, scrypt: CHEAP, cacheTtlMs: 0 });
    const there = new UserStore(other, { clock, scrypt: CHEAP, cacheTtlMs: 0 });
    await here.setPassword('olga', PASSWORD);
    const [a, b] = await Promise.all([here.login('olga', PASSWORD), there.login('olga', PASSWORD)]);
    expect(a!.expiresAt).toBe('2024-05-01T22:00:00.000Z');
    expect(await there.authenticate(a!.token)).toMatchObject({ name: 'olga', tokenKind: 'session' });
    await there.endSession(a!.tokenId);
    expect(await here.authenticate(a!.token)).toBeNull();
    expect(await here.authenticate(b!.token)).not.toBeNull();
    clock.advance(12 * 3600_000);
    expect(await here.authenticate(b!.token)).toBeNull();
    expect(await here.authenticate(OLD_TOKEN)).not.toBeNull();
    expect(await here.login('olga', 'not the password')).toBeNull();
  });
});
