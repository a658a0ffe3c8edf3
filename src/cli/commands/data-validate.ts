// `secondread data validate <version | manifest.jsonl>`: counts, statistics, duplicates, leakage,
// imbalance. Exits non-zero when an error (leakage, missing object, …) is found.
import { existsSync } from 'node:fs';

import type { Command } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { resolveVersionRef } from '../../data/datasets/repository.js';
import { formatValidationReport } from '../../data/validate/format.js';
import type { ValidationReport } from '../../data/validate/validate.js';
import { validateManifestFile, validateVersion } from '../../data/validate/validate-version.js';
import { withContext } from '../context.js';
import { createProgressRenderer } from '../progress.js';
import { dataCommand } from './data-group.js';

export function registerDataValidate(program: Command): void {
  dataCommand(program)
    .command('validate')
    .description(
      'check a dataset version (or a manifest.jsonl file): counts, statistics, duplicates, leakage, imbalance; reader agreement per class for detection versions',
    )
    .argument('<version>', 'dataset version id (or unique prefix), or the path of a manifest.jsonl')
    .option('--json', 'print the report as JSON')
    .option('--no-objects', 'skip checking that every image object exists with its recorded size')
    .action(async (ref: string, opts: { json?: boolean; objects: boolean }) => {
      const report: ValidationReport =
        ref.endsWith('.jsonl') && existsSync(ref)
          ? await validateManifestFile(ref)
          : await withContext(async (ctx) => {
              const db = await ctx.db();
              const progress = createProgressRenderer();
              try {
                return await validateVersion(db, await resolveVersionRef(db, ref), {
                  objects: opts.objects ? ctx.objects() : undefined,
                  store: ctx.objects(),
                  onProgress: progress.onProgress,
                });
              } finally {
                progress.stop();
              }
            });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatValidationReport(report)}\n`);
      if (!report.ok) {
        const errors = report.issues.filter((i) => i.level === 'error');
        throw new ValidationError(`${report.version} failed validation: ${errors.length} error(s), first: ${errors[0]?.message ?? '?'}`);
      }
    });
}
