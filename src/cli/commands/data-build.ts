// `secondread data build --config datasets.yaml [--raw-dir DIR]`: ETL into an immutable dataset
// version, then validate it. Prints the version id; a rerun with the same inputs is a no-op.
import type { Command } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { loadDeidKey } from '../../data/dicom/deid/key.js';
import { buildDataset } from '../../data/etl/build.js';
import { loadDatasetConfig } from '../../data/etl/config.js';
import type { BuildReport } from '../../data/etl/report.js';
import { formatValidationReport } from '../../data/validate/format.js';
import { validateVersion } from '../../data/validate/validate-version.js';
import { withContext } from '../context.js';
import { createProgressRenderer } from '../progress.js';
import { dataCommand } from './data-group.js';

function describeBuild(r: BuildReport): string {
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  const lines = r.archives.map((a) => `  ${a.archive} (${a.dataset}, ${mb(a.sizeBytes)}): ${a.entries} entries, ${a.selected} selected, ${a.ignored} ignored`);
  const quarantined = r.quarantined.listed.slice(0, 10).map((q) => `    ${q.dataset}: ${q.entry} — ${q.reason}`);
  const labels = (r.labels ?? []).flatMap((l) => [
    `  ${l.dataset} (${l.layout} sheet, ${l.rows} rows, ${l.labelledIds} images named): ${l.selected} kept, ${l.excluded.count} left out by the class rules, ${l.unlabelledFiles} files not in the sheet, ${l.missingFiles} named without a file; ${l.boxes} boxes (${l.boxesOutsideImage} outside their image)`,
    ...l.excluded.reasons.slice(0, 5).map((x) => `    ${x.count} × ${x.reason}`),
  ]);
  const timings = Object.entries(r.timingsMs)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
    .join(', ');
  return [
    'archives:',
    ...lines,
    `duplicates dropped: ${r.duplicates.count} (${r.duplicates.conflictingClasses} with conflicting classes)   quarantined: ${r.quarantined.count}   ignored entries: ${r.ignoredEntries}`,
    ...quarantined,
    ...(labels.length ? ['labels sheets:', ...labels] : []),
    `patients: ${r.patients.keyed} keyed, ${r.patients.groups} split groups   objects: ${r.objects.uploaded} uploaded, ${r.objects.reused} already present, ${r.objects.removed} stray removed`,
    `timings: ${timings}`,
  ].join('\n');
}

export function registerDataBuild(program: Command): void {
  dataCommand(program)
    .command('build')
    .description('build an immutable dataset version from archives (extract, map classes, dedupe, decode-check, split)')
    .requiredOption('-c, --config <file>', 'dataset config (YAML), e.g. examples/datasets.yaml')
    .option('--raw-dir <dir>', 'folder holding the archives (overrides raw_dir in the config)')
    .option('--concurrency <n>', 'decode-checks in flight (uploads: 8)', (v) => Number(v), 3)
    .option('--json', 'print the build result as JSON')
    .action(async (opts: { config: string; rawDir?: string; concurrency: number; json?: boolean }) => {
      if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1 || opts.concurrency > 32)
        throw new ValidationError('--concurrency must be an integer in 1…32');
      const config = loadDatasetConfig(opts.config, { rawDir: opts.rawDir });
      await withContext(async (ctx) => {
        const progress = createProgressRenderer();
        let result;
        let validation;
        try {
          const db = await ctx.db();
          // DICOM entries are de-identified with the site's key, the same as study intake uses.
          const dicom = { key: loadDeidKey({ home: ctx.config.home, envKey: process.env.SECONDREAD_DEID_KEY }) };
          result = await buildDataset({ db, objects: ctx.objects(), config, concurrency: opts.concurrency, onProgress: progress.onProgress, dicom });
          // Objects are checked right after writing them; a no-op rerun only re-checks the manifest.
          validation = await validateVersion(db, result.versionId, { objects: result.built ? ctx.objects() : undefined, onProgress: progress.onProgress });
        } finally {
          progress.stop();
        }
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ version: result.versionId, built: result.built, report: result.report, validation }, null, 2)}\n`);
        } else {
          const head = result.built
            ? `built dataset version ${result.versionId}: ${result.report.images} images`
            : `dataset version ${result.versionId} is already built (${result.version.imageCount} images): nothing to do`;
          process.stdout.write(
            `${head}\n\n${result.built ? `${describeBuild(result.report)}\n\n` : ''}${formatValidationReport(validation)}\n\n${result.versionId}\n`,
          );
        }
        if (!validation.ok) throw new ValidationError(`dataset version ${result.versionId} failed validation (see the issues above)`);
      });
    });
}
