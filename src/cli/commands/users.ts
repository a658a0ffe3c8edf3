// `secondread users …`: API users, their passwords and their tokens. A token is printed once, when it
// is created (only its sha256 is stored); `ls` shows users and token ids, never tokens. Passwords are
// read from stdin only (`--password-stdin`): an argument would land in shell history and `ps`.
import type { ReadStream } from 'node:tty';

import type { Command } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { renderTable } from '../../data/validate/table.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, ROLES, UserStore } from '../../workflow/users.js';
import { withContext } from '../context.js';
import { print, printJson, when } from './runs.js';

function tokenNotice(token: string, tokenId: string): string {
  return [`token (shown once, store it now): ${token}`, `token id (to revoke it): ${tokenId}`, 'use it as: Authorization: Bearer <token>'].join('\n');
}

/** More than any accepted password (1024 code points × 4 UTF-8 bytes): stop reading a mistaken pipe early. */
const MAX_STDIN_BYTES = 8 * 1024;
const PIPE_HINT = 'printf \'%s\' "$PASSWORD" | secondread users passwd <name> --password-stdin';

/**
 * The password on stdin: from a pipe, everything up to EOF minus one trailing newline (what `echo`
 * adds); from a terminal, one line typed without echo.
 */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin): Promise<string> {
  const raw = stdin.isTTY ? await readHiddenLine(stdin as ReadStream) : await readAll(stdin);
  const password = raw.replace(/\r?\n$/, '');
  if (password.length === 0) throw new ValidationError(`no password on stdin: pipe it in, e.g. ${PIPE_HINT}`);
  return password;
}

async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    bytes += b.length;
    if (bytes > MAX_STDIN_BYTES)
      throw new ValidationError(`stdin holds more than ${MAX_STDIN_BYTES} bytes: not a password (at most ${PASSWORD_MAX_LENGTH} characters)`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One line from a terminal in raw mode, nothing echoed; Backspace edits, Ctrl-C cancels. */
function readHiddenLine(tty: ReadStream): Promise<string> {
  process.stderr.write(`password (${PASSWORD_MIN_LENGTH}+ characters, not shown): `);
  tty.setRawMode(true);
  tty.setEncoding('utf8');
  tty.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (err: Error | null) => {
      tty.off('data', onData);
      tty.setRawMode(false);
      tty.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(null);
        if (ch === '\u0003') return finish(new ValidationError('cancelled: no password set'));
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else typed += ch;
      }
    };
    tty.on('data', onData);
  });
}

export function registerUsers(program: Command): void {
  const users = program.command('users').description(`API users and tokens (roles: ${ROLES.join(', ')})`);

  users
    .command('add <name>')
    .description('create a user and print their first API token (once); with --password-stdin: a user who logs in with a password instead (no API token)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--label <label>', 'what the token is for', 'initial')
    .option('--password-stdin', `read the user's password from stdin (${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters)`)
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { role: string; label: string; passwordStdin?: boolean; json?: boolean }) => {
      if (opts.passwordStdin) {
        const password = await readPasswordFromStdin();
        return withContext(async (ctx) => {
          const user = await new UserStore(await ctx.db()).addUserWithPassword({ name, role: opts.role, password });
          if (opts.json) return printJson({ user });
          print(`added ${user.name} (${user.role}) with a password: log in through the web UI or POST /v1/auth/login`);
        });
      }
      await withContext(async (ctx) => {
        const { user, token, tokenId } = await new UserStore(await ctx.db()).addUser({ name, role: opts.role, label: opts.label });
        if (opts.json) return printJson({ user, token, tokenId });
        print(`added ${user.name} (${user.role})\n${tokenNotice(token, tokenId)}`);
      });
    });

  users
    .command('passwd <name>')
    .description("set or replace a user's password, read from stdin; their open login sessions end")
    .requiredOption('--password-stdin', `read the password from stdin (${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters; never as an argument)`)
    .action(async (name: string) => {
      const password = await readPasswordFromStdin();
      await withContext(async (ctx) => {
        await new UserStore(await ctx.db()).setPassword(name, password);
        print(`password set for ${name} (their open login sessions were ended)`);
      });
    });

  users
    .command('token <name>')
    .description('print a new API token for an existing user (once)')
    .requiredOption('--label <label>', 'what the token is for (e.g. the client using it)')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { label: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const { token, tokenId } = await new UserStore(await ctx.db()).createToken(name, opts.label);
        if (opts.json) return printJson({ token, tokenId });
        print(tokenNotice(token, tokenId));
      });
    });

  users
    .command('ls')
    .description(
      'users with their roles, whether they have a password, and their tokens (ids, labels, last use; never the tokens); login sessions only while open',
    )
    .option('--json', 'print as JSON (all tokens, ended sessions too)')
    .action(async (opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const store = new UserStore(await ctx.db());
        const [list, tokens] = await Promise.all([store.listUsers(), store.listTokens()]);
        if (opts.json) return printJson({ users: list, tokens });
        if (list.length === 0) return print('no users yet: add one with `secondread users add <name> --role <role>`');
        print(
          renderTable(
            ['user', 'role', 'password', 'created (UTC)', 'disabled'],
            list.map((u) => [u.name, u.role, u.hasPassword ? 'yes' : 'no', when(u.createdAt), when(u.disabledAt)]),
          ),
        );
        const now = new Date().toISOString();
        const shown = tokens.filter((t) => t.kind === 'api' || (t.revokedAt === null && t.expiresAt !== null && t.expiresAt > now));
        if (shown.length === 0) return;
        print('');
        print(
          renderTable(
            ['token id', 'user', 'kind', 'label', 'created (UTC)', 'last used', 'revoked', 'expires'],
            shown.map((t) => [t.id, t.userName, t.kind, t.label, when(t.createdAt), when(t.lastUsedAt), when(t.revokedAt), when(t.expiresAt)]),
          ),
        );
      });
    });

  users
    .command('revoke <token-id>')
    .description('revoke one token (running servers stop accepting it within seconds)')
    .action(async (tokenId: string) => {
      await withContext(async (ctx) => {
        await new UserStore(await ctx.db()).revokeToken(tokenId);
        print(`revoked ${tokenId}`);
      });
    });

  users
    .command('disable <name>')
    .description('disable a user: all their tokens stop working')
    .action(async (name: string) => {
      await withContext(async (ctx) => {
        await new UserStore(await ctx.db()).disableUser(name);
        print(`disabled ${name}`);
      });
    });
}
