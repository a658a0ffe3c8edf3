// `secondread audit verify`: walks the workflow's hash-chained audit log. Exit 0 and "N entries
// verified" when every entry links to the one before and the chain ends where the head says; exit 1
// naming the first entry that does not verify (edited, deleted or reordered).
import type { Command } from 'commander';

import { verifyAuditLog } from '../../workflow/audit.js';
import { AuditChainError } from '../../workflow/errors.js';
import { withContext } from '../context.js';
import { print, printJson } from './runs.js';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit trail of clinical events (hash-chained)');

  audit
    .command('verify')
    .description('check the audit hash chain: exit 1 naming the first entry that was edited, deleted or reordered')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const r = await verifyAuditLog(await ctx.db());
        if (!r.ok) {
          // Thrown, not printed: main() reports it on stderr and exits 1 (a broken chain is a server-side fault).
          throw new AuditChainError(`audit log broken at seq ${r.seq} (${r.reason}): ${r.message}; ${r.entries} entries before it verified`, {
            seq: r.seq,
            reason: r.reason,
          });
        }
        if (opts.json) return printJson(r);
        print(`${r.entries} entries verified (head ${r.headHash.slice(0, 16)}…)`);
      });
    });
}
