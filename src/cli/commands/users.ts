// `secondread users …`: API users and their tokens. A token is printed once, when it is created
// (only its sha256 is stored); `ls` shows users and token ids, never tokens.
import type { Command } from 'commander';
import { renderTable } from '../../data/validate/table.js';
import { ROLES, UserStore } from '../../workflow/users.js';
import { withContext } from '../context.js';
import { print, printJson, when } from './runs.js';

function tokenNotice(token: string, tokenId: string): string {
  return [`token (shown once, store it now): ${token}`, `token id (to revoke it): ${tokenId}`, 'use it as: Authorization: Bearer <token>'].join('\n');
}

export function registerUsers(program: Command): void {
  const users = program.command('users').description(`API users and tokens (roles: ${ROLES.join(', ')})`);

  users
    .command('add <name>')
    .description('create a user and print their first API token (once)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--label <label>', 'what the token is for', 'initial')
    .option('--json', 'print as JSON')
    .action(async (name: string, opts: { role: string; label: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const { user, token, tokenId } = await new UserStore(await ctx.db()).addUser({ name, role: opts.role, label: opts.label });
        if (opts.json) return printJson({ user, token, tokenId });
        print(`added ${user.name} (${user.role})\n${tokenNotice(token, tokenId)}`);
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
    .description('users with their roles and tokens (ids, labels, last use; never the tokens)')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const store = new UserStore(await ctx.db());
        const [list, tokens] = await Promise.all([store.listUsers(), store.listTokens()]);
        if (opts.json) return printJson({ users: list, tokens });
        if (list.length === 0) return print('no users yet: add one with `secondread users add <name> --role <role>`');
        print(renderTable(['user', 'role', 'created (UTC)', 'disabled'], list.map((u) => [u.name, u.role, when(u.createdAt), when(u.disabledAt)])));
        print('');
        print(renderTable(['token id', 'user', 'label', 'created (UTC)', 'last used', 'revoked'], tokens.map((t) => [t.id, t.userName, t.label, when(t.createdAt), when(t.lastUsedAt), when(t.revokedAt)])));
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
