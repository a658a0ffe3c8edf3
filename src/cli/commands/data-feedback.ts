// `secondread data feedback [--since DATE] [--base VERSION]`: finalized studies (adjudicated, QA samples; with
// --include-auto-finalized also unreviewed auto-finalized ones) become an immutable dataset version with lineage.
import type { Command } from 'commander';

import type { FeedbackReport } from '../../data/feedback/index.js';
import { NoNewLabelsError } from '../../data/feedback/index.js';
import { buildFeedbackDataset } from '../../loop/feedback.js';
import { withContext } from '../context.js';
import { parseInteger } from '../parse.js';
import { createProgressRenderer } from '../progress.js';
import { dataCommand } from './data-group.js';

interface FeedbackFlags {
  since?: string;
  until?: string;
  base?: string;
  includeAutoFinalized?: boolean;
  seed: string;
  name?: string;
  json?: boolean;
}

export function describeFeedback(r: FeedbackReport): string {
  const earlier = Object.entries(r.duplicates.inEarlierVersions).map(([v, n]) => `${n} in ${v}`);
  return [
    `studies: ${r.studies} finalized → ${r.added} new images (labelled by B ${r.labelledBy.B}, QA ${r.labelledBy.QA}, A+model ${r.labelledBy['A+model']})`,
    `left out: ${r.duplicates.withinStudies} repeated images, ${r.duplicates.inBase} already in the base, ${earlier.length ? earlier.join(', ') : '0 in earlier feedback versions'}, ` +
      `${r.conflicts.length} label conflicts, ${r.undecodable.length} undecodable`,
    r.base ? `base: ${r.base.version} (${r.base.images} images; ${r.patientsFromBase} patients of new images kept their base split)` : 'base: none',
    `splits: ${(['train', 'val', 'test'] as const).map((s) => `${s} ${Object.values(r.counts[s]).reduce((a, b) => a + b, 0)}`).join(', ')}; final_eval ${r.finalEval}`,
  ].join('\n');
}

export function registerDataFeedback(program: Command): void {
  dataCommand(program)
    .command('feedback')
    .description('build a dataset version from finalized studies (adjudicated and QA-reviewed), with lineage; optionally merged into a base version')
    .option('--since <date>', 'studies finalized at or after this date / ISO-8601 time')
    .option('--until <date>', 'studies finalized before this date / ISO-8601 time')
    .option('--base <version>', 'merge into this dataset version (id or unique prefix): its images keep their splits, its patients too')
    .option('--include-auto-finalized', 'also auto-finalized studies B never reviewed (labelled by A+model agreement)')
    .option('--seed <n>', 'split seed', '42')
    .option('--name <name>', 'label shown by data ls')
    .option('--json', 'print the result as JSON')
    .action(async (flags: FeedbackFlags) => {
      const seed = parseInteger('--seed', flags.seed, 0);
      await withContext(async (ctx) => {
        const progress = createProgressRenderer();
        let result;
        try {
          result = await buildFeedbackDataset(
            { db: await ctx.db(), objects: ctx.objects(), onProgress: progress.onProgress },
            { since: flags.since, until: flags.until, base: flags.base, includeAutoFinalized: flags.includeAutoFinalized, seed, name: flags.name },
          );
        } catch (err) {
          // Nothing new is an answer, not a failure: a scheduled `data feedback` must not page anyone.
          if (!(err instanceof NoNewLabelsError)) throw err;
          progress.stop();
          if (flags.json) process.stdout.write(`${JSON.stringify({ version: null, reason: err.message, details: err.details }, null, 2)}\n`);
          else process.stdout.write(`nothing to build: ${err.message}\n`);
          return;
        } finally {
          progress.stop();
        }
        if (flags.json) process.stdout.write(`${JSON.stringify({ version: result.versionId, built: result.built, report: result.report }, null, 2)}\n`);
        else {
          const head = result.built
            ? `built feedback dataset version ${result.versionId}: ${result.report.images} images`
            : `dataset version ${result.versionId} is already built`;
          process.stdout.write(`${head}\n${describeFeedback(result.report)}\n\n${result.versionId}\n`);
        }
      });
    });
}
