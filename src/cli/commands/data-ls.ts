// `secondread data ls`: the dataset versions, newest first.
import type { Command } from 'commander';

import { listVersions } from '../../data/datasets/repository.js';
import { renderTable } from '../../data/validate/table.js';
import { withContext } from '../context.js';
import { dataCommand } from './data-group.js';

export function registerDataLs(program: Command): void {
  dataCommand(program)
    .command('ls')
    .description('list dataset versions')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const versions = await listVersions(await ctx.db());
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify(
              versions.map(({ report: _r, inputs: _i, ...v }) => v),
              null,
              2,
            )}\n`,
          );
          return;
        }
        if (versions.length === 0) {
          process.stdout.write('no dataset versions yet: build one with `secondread data build --config examples/datasets.yaml`\n');
          return;
        }
        const rows = versions.map((v) => [
          v.id,
          v.status,
          v.imageCount,
          v.name ?? '',
          v.createdAt.replace('T', ' ').slice(0, 19),
          v.error ? v.error.slice(0, 60) : '',
        ]);
        process.stdout.write(`${renderTable(['version', 'status', 'images', 'name', 'created (UTC)', 'error'], rows)}\n`);
      });
    });
}
