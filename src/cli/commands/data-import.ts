// `secondread data import --format coco|yolo|labelstudio PATH --base VERSION`: labels corrected in an
// annotation tool become a new immutable dataset version (the base's images, the imported boxes as
// reference), with lineage. Every file is checked before anything is written.
import { type Command, Option } from 'commander';

import { resolveVersionRef } from '../../data/datasets/repository.js';
import { BOX_TOLERANCE_PX } from '../../data/detection/formats/bounds.js';
import { importLabels, type ImportReport } from '../../data/detection/formats/import-version.js';
import { EXCHANGE_FORMATS, type ExchangeFormat } from '../../data/detection/formats/read-import.js';
import { withContext } from '../context.js';
import { dataCommand } from './data-group.js';

const HELP_AFTER = `
PATH is what the tool wrote (or what \`data export\` wrote and someone corrected); a folder may also be
given as a .zip or .tar.gz archive of it:
  coco         a COCO JSON file, or a folder: every .json in it (categories matched by NAME)
  yolo         a folder: labels/**/<image>.txt (else every .txt); class names from data.yaml
               (or classes.txt), else the 14 findings in secondread's order; an empty file = no finding
  labelstudio  a Label Studio JSON export (Export → JSON): per task the latest submitted, non-cancelled
               annotation; an annotation without boxes = no finding; tasks nobody submitted are skipped

Images are matched to the base version by file name (or by name without extension). Refused, with the
file and record named and no version written: invalid JSON/YAML, a class outside the 14 VinDr findings,
a box more than ${BOX_TOLERANCE_PX} px outside its image (closer ones are clipped), an image the base does not
hold, an image size that differs from the stored image's, an image labelled twice.

The new version keeps the base's images and splits; each labelled image gets the annotator as a reader
(ls:<completed_by>, coco:<--annotator>, yolo:<--annotator>) and the imported boxes as its reference;
images the files do not label keep theirs. lineage.jsonl records file, record and annotator per image.
The same files imported onto the same base again give the same version id (nothing is rebuilt).

Example:
  secondread data import --format labelstudio ~/Downloads/project-3-at-2026-12-06.json --base ds-3f9a`;

interface ImportFlags {
  format: ExchangeFormat;
  base: string;
  annotator?: string;
  name?: string;
  json?: boolean;
}

export function describeImport(r: ImportReport): string {
  const classes = [...new Set([...Object.keys(r.boxes.before), ...Object.keys(r.boxes.after)])].sort();
  const perClass = classes.map((c) => `${c} ${r.boxes.before[c] ?? 0}→${r.boxes.after[c] ?? 0}`).join(', ');
  return [
    `files: ${r.files.map((f) => f.path).join(', ')}`,
    `labelled: ${r.labelled} of ${r.images} images (${r.noFinding} with no finding), ${r.changed} changed from the base; ${r.unreviewed} records without a submitted label`,
    `readers: ${r.readers.join(', ')}`,
    `reference boxes on the labelled images (base→now): ${perClass || 'none'}`,
  ].join('\n');
}

export function registerDataImport(program: Command): void {
  dataCommand(program)
    .command('import')
    .description('import boxes from COCO, YOLO or Label Studio files as a new dataset version on top of a base version, with lineage')
    .argument('<path>', 'the file, folder or .zip / .tar.gz archive the annotation tool wrote')
    .addOption(new Option('--format <format>', "the tool's format").choices(EXCHANGE_FORMATS).makeOptionMandatory())
    .requiredOption('--base <version>', 'the dataset version the labels are for (id or unique prefix)')
    .option('--annotator <name>', 'who labelled (recorded as the reader for COCO and YOLO, which do not say; Label Studio names its own)')
    .option('--name <name>', 'label shown by data ls')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', HELP_AFTER)
    .action(async (path: string, flags: ImportFlags) => {
      await withContext(async (ctx) => {
        const db = await ctx.db();
        const base = await resolveVersionRef(db, flags.base);
        const r = await importLabels({ db, objects: ctx.objects(), base, format: flags.format, path, annotator: flags.annotator, name: flags.name });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ version: r.versionId, built: r.built, report: r.report }, null, 2)}\n`);
          return;
        }
        const head = r.built
          ? `built dataset version ${r.versionId} from ${r.report.format} labels on ${r.report.base.version}`
          : `dataset version ${r.versionId} is already built from these files: nothing to do`;
        process.stdout.write(`${head}\n${describeImport(r.report)}\n\n${r.versionId}\n`);
      });
    });
}
