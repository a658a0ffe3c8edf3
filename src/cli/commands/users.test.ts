// `secondread users …` in-process on a temporary SECONDREAD_HOME: the printed token works once stored,
// listing never shows a token, revoke and disable take effect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { openDatabase } from '../../storage/db.js';
import { UserStore } from '../../workflow/users.js';
import { runCli, tempCliHome } from '../testing.js';

let cli: Awaited<ReturnType<typeof tempCliHome>>;
beforeAll(async () => {
  cli = await tempCliHome('sr-cli-users-');
});
afterAll(async () => {
  await cli?.cleanup();
});

async function authenticate(token: string) {
  const db = openDatabase(loadConfig().database);
  try {
    return await new UserStore(db, { cacheTtlMs: 0 }).authenticate(token);
  } finally {
    await db.destroy();
  }
}

describe('secondread users', () => {
  it('add prints a working token once; ls lists users and token ids but no token', async () => {
    const add = await runCli('users', 'add', 'alice', '--role', 'ml-engineer');
    expect(add.code).toBe(0);
    const token = /token \(shown once, store it now\): (sr_\S+)/.exec(add.out)![1]!;
    const tokenId = /token id \(to revoke it\): (tok_\S+)/.exec(add.out)![1]!;
    expect(await authenticate(token)).toMatchObject({ name: 'alice', role: 'ml-engineer' });

    const ls = await runCli('users', 'ls');
    expect(ls.code).toBe(0);
    expect(ls.out).toMatch(/alice\s+ml-engineer/);
    expect(ls.out).toContain(tokenId);
    expect(ls.out).not.toContain(token);
    expect(JSON.stringify(JSON.parse((await runCli('users', 'ls', '--json')).out))).not.toContain(token);

    const json = JSON.parse((await runCli('users', 'add', 'bob', '--role', 'reader', '--json')).out);
    expect(json).toMatchObject({ user: { name: 'bob', role: 'reader' }, token: expect.stringMatching(/^sr_/), tokenId: expect.stringMatching(/^tok_/) });
  });

  it('token, revoke and disable', async () => {
    const extra = await runCli('users', 'token', 'alice', '--label', 'ci');
    expect(extra.code).toBe(0);
    const token = /(sr_\S+)/.exec(extra.out)![1]!;
    const tokenId = /(tok_\S+)/.exec(extra.out)![1]!;
    expect(await authenticate(token)).not.toBeNull();
    expect((await runCli('users', 'revoke', tokenId)).code).toBe(0);
    expect(await authenticate(token)).toBeNull();
    expect((await runCli('users', 'disable', 'bob')).code).toBe(0);
    expect((await runCli('users', 'ls')).out).toMatch(/bob\s+reader\s+\S+ \S+\s+\d{4}-/);
  });

  it('bad input is one line on stderr with exit code 2', async () => {
    for (const args of [
      ['users', 'add', 'carol', '--role', 'root'],
      ['users', 'add', 'Carol Smith', '--role', 'reader'],
      ['users', 'add', 'alice', '--role', 'reader'],
      ['users', 'revoke', 'tok_nope'],
      ['users', 'token', 'nobody', '--label', 'x'],
    ]) {
      const r = await runCli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^error: /);
    }
  });
});
