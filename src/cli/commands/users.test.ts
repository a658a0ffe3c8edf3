// `secondread users …` in-process on a temporary SECONDREAD_HOME: the printed token works once stored,
// listing never shows a token, revoke and disable take effect.
import { PassThrough, Readable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { loadConfig } from '../../core/config.js';
import { openDatabase } from '../../storage/db.js';
import { UserStore } from '../../workflow/users.js';
import { runCli, tempCliHome } from '../testing.js';
import { readPasswordFromStdin } from './users.js';

let cli: Awaited<ReturnType<typeof tempCliHome>>;
beforeAll(async () => {
  cli = await tempCliHome('sr-cli-users-');
});
afterAll(async () => {
  await cli?.cleanup();
});

async function withStore<T>(fn: (users: UserStore) => Promise<T>): Promise<T> {
  const db = openDatabase(loadConfig().database);
  try {
    return await fn(new UserStore(db, { cacheTtlMs: 0 }));
  } finally {
    await db.destroy();
  }
}
const authenticate = (token: string) => withStore((users) => users.authenticate(token));

/** `secondread <args…>` with `input` on stdin (a pipe, not a terminal). */
async function runCliWithStdin(input: string, ...args: string[]) {
  const spy = vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from([Buffer.from(input)]) as unknown as typeof process.stdin);
  try {
    return await runCli(...args);
  } finally {
    spy.mockRestore();
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
    expect((await runCli('users', 'ls')).out).toMatch(/bob\s+reader\s+no\s+\S+ \S+\s+\d{4}-/);
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

describe('secondread users: passwords', () => {
  const PASSWORD = 'correct horse battery';

  it('add --password-stdin: a user with a password and no API token, who can log in; ls says so', async () => {
    const add = await runCliWithStdin(`${PASSWORD}\n`, 'users', 'add', 'rita', '--role', 'reader', '--password-stdin');
    expect(add.code, add.err).toBe(0);
    expect(add.out).toContain('added rita (reader) with a password');
    expect(add.out).not.toMatch(/sr_/);
    const session = await withStore((users) => users.login('rita', PASSWORD));
    expect(session?.user).toMatchObject({ name: 'rita', role: 'reader' });
    expect(await withStore((users) => users.login('rita', `${PASSWORD}\n`))).toBeNull(); // the newline from echo was stripped, not kept
    expect(await withStore((users) => users.listTokens('rita'))).toMatchObject([{ kind: 'session' }]);

    const ls = await runCli('users', 'ls');
    expect(ls.out).toMatch(/rita\s+reader\s+yes\s/);
    expect(ls.out).toMatch(/alice\s+ml-engineer\s+no\s/);
    expect(ls.out).toMatch(new RegExp(`${session!.tokenId}\\s+rita\\s+session\\s+login`));
    expect(ls.out).not.toContain(session!.token);
    expect(JSON.parse((await runCli('users', 'ls', '--json')).out).users).toContainEqual(expect.objectContaining({ name: 'rita', hasPassword: true }));
  });

  it('passwd --password-stdin replaces the password (no trailing-newline surprises with \\r\\n either)', async () => {
    const r = await runCliWithStdin('a whole new passphrase\r\n', 'users', 'passwd', 'alice', '--password-stdin');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('password set for alice');
    expect(await withStore((users) => users.login('alice', 'a whole new passphrase'))).not.toBeNull();
    expect((await runCli('users', 'ls')).out).toMatch(/alice\s+ml-engineer\s+yes\s/);
  });

  it('empty, short, or missing passwords are clear one-line errors (exit 2) and change nothing', async () => {
    for (const [input, args, message] of [
      ['', ['users', 'passwd', 'bob', '--password-stdin'], /no password on stdin: pipe it in/],
      ['\n', ['users', 'passwd', 'bob', '--password-stdin'], /no password on stdin/],
      ['short one\n', ['users', 'passwd', 'bob', '--password-stdin'], /too short: at least 12 characters \(got 9\)/],
      ['x'.repeat(1025), ['users', 'add', 'carol', '--role', 'reader', '--password-stdin'], /too long: at most 1024/],
      ['x'.repeat(9000), ['users', 'add', 'carol', '--role', 'reader', '--password-stdin'], /more than 8192 bytes/],
      [PASSWORD, ['users', 'passwd', 'nobody', '--password-stdin'], /user 'nobody' was not found/],
    ] as const) {
      const r = await runCliWithStdin(input, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
    }
    expect(await withStore((users) => users.getUser('bob'))).toMatchObject({ hasPassword: false });
    await expect(withStore((users) => users.getUser('carol'))).rejects.toMatchObject({ code: 'not_found' });
  });

  it('passwd without --password-stdin is refused: a password is never an argument', async () => {
    const r = await runCli('users', 'passwd', 'bob');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("required option '--password-stdin' not specified");
  });

  it('from a terminal: one line, not echoed, Backspace edits', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, setRawMode: vi.fn() });
    const errWrite = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const read = readPasswordFromStdin(tty);
      tty.write('correct horsx\u007fe battery\rignored');
      expect(await read).toBe(PASSWORD);
      expect(tty.setRawMode.mock.calls).toEqual([[true], [false]]);
      expect(errWrite.mock.calls.map((c) => String(c[0])).join('')).not.toContain('battery');
    } finally {
      errWrite.mockRestore();
    }
  });
});
