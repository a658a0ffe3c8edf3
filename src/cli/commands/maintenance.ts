// `secondread maintenance sweep`: removes the objects of studies that were never recorded (an intake
// killed between writing the image and committing its row: kill -9, power loss). Safe to run while
// `serve` runs: only objects older than the grace period (default 60 minutes) with no study row go.
import type { Command } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { DEFAULT_ORPHAN_GRACE_MS, sweepOrphanStudyObjects } from '../../workflow/orphans.js';
import { withContext } from '../context.js';
import { print, printJson } from './runs.js';

export function registerMaintenance(program: Command): void {
  const maintenance = program.command('maintenance').description('housekeeping of the metadata database and the object store');

  maintenance
    .command('sweep')
    .description('remove study objects no study row refers to (left by an intake that was killed), older than the grace period')
    .option('--grace-minutes <n>', 'leave objects younger than this many minutes (intakes still in flight)', String(DEFAULT_ORPHAN_GRACE_MS / 60_000))
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('--json', 'print as JSON')
    .action(async (opts: { graceMinutes: string; dryRun?: boolean; json?: boolean }) => {
      const minutes = Number(opts.graceMinutes);
      if (!Number.isFinite(minutes) || minutes < 0) throw new ValidationError(`--grace-minutes must be a number ≥ 0 (got '${opts.graceMinutes}')`);
      await withContext(async (ctx) => {
        const r = await sweepOrphanStudyObjects(await ctx.db(), ctx.objects(), { graceMs: minutes * 60_000, dryRun: opts.dryRun, logger: ctx.logger });
        if (opts.json) return printJson({ ...r, dryRun: opts.dryRun === true });
        print(
          `${opts.dryRun ? 'would remove' : 'removed'} ${r.removed.length} orphan object(s) of ${r.scanned} scanned; ${r.young} younger than the grace period left`,
        );
        for (const key of r.removed) print(`  ${key}`);
      });
    });
}
