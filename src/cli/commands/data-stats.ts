// `secondread data stats <version>`: what a version holds and how it was built (counts per split ×
// class, archives, duplicates, quarantined files, timings) — from its stored build report.
import type { Command } from 'commander';

import { getVersion, listImages, resolveVersionRef } from '../../data/datasets/repository.js';
import type { BuildReport } from '../../data/etl/report.js';
import { countBySplitClass } from '../../data/etl/report.js';
import { countsTable } from '../../data/validate/format.js';
import { withContext } from '../context.js';
import { dataCommand } from './data-group.js';

export function registerDataStats(program: Command): void {
  dataCommand(program)
    .command('stats')
    .description('counts per split × class and the build report of a dataset version')
    .argument('<version>', 'dataset version id (or unique prefix)')
    .option('--json', 'print as JSON')
    .action(async (ref: string, opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const db = await ctx.db();
        const version = await getVersion(db, await resolveVersionRef(db, ref));
        const images = await listImages(db, version.id);
        const counts = countBySplitClass(images);
        const finalEval = { train: 0, val: 0, test: 0 };
        for (const i of images) if (i.finalEval) finalEval[i.split] += 1;
        const report = version.report as BuildReport | null;
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify({ version: version.id, status: version.status, images: images.length, counts, finalEval, report }, null, 2)}\n`,
          );
          return;
        }
        const lines = [
          `dataset version ${version.id} (${version.status}${version.name ? `, ${version.name}` : ''}): ${images.length} images, built ${version.completedAt ?? 'not yet'}`,
          '',
          countsTable(counts, finalEval),
        ];
        if (report) {
          lines.push('', 'sources:');
          for (const a of report.archives)
            lines.push(`  ${a.dataset}: ${a.archive} sha256 ${a.sha256.slice(0, 16)}…, ${a.selected} images selected, ${a.ignored} entries ignored`);
          lines.push(`duplicates dropped: ${report.duplicates.count}   quarantined: ${report.quarantined.count}   patients: ${report.patients.keyed}`);
          for (const q of report.quarantined.listed.slice(0, 20)) lines.push(`  quarantined ${q.dataset}: ${q.entry} — ${q.reason}`);
          lines.push(
            `build timings: ${Object.entries(report.timingsMs)
              .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
              .join(', ')}`,
          );
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
}
