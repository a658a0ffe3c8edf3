// `secondread data synth`: writes deterministic synthetic phantom archives in the public
// datasets' layouts (the real archives cannot be downloaded here), for the ETL, tests and demos.
import { type Command, InvalidArgumentError, Option } from 'commander';

import {
  CXR_SCANNERS,
  DETECT_SYNTH_DEFAULTS,
  type DetectSynthResult,
  isSynthDataset,
  OCT_SCANNERS,
  SYNTH_DATASETS,
  SYNTH_DEFAULTS,
  type SynthDataset,
  synthesizeArchives,
  synthesizeDetection,
  type SynthResult,
} from '../../data/synth/index.js';
import { createProgressRenderer } from '../progress.js';
import { dataCommand } from './data-group.js';

function integer(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return n;
  };
}

function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number such as 0.02');
  return n;
}

function datasetList(value: string): SynthDataset[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !isSynthDataset(n));
  if (bad.length > 0 || names.length === 0)
    throw new InvalidArgumentError(`expected a comma-separated list of ${SYNTH_DATASETS.join(', ')}${bad.length ? ` (unknown: ${bad.join(', ')})` : ''}`);
  return names as SynthDataset[];
}

const HELP_AFTER = `
Archives written (exact layouts of the public datasets):
  COVID-19_Radiography_Dataset.zip    COVID/images/COVID-1.png, Normal/images/Normal-1.png,
                                      Viral Pneumonia/images/Viral Pneumonia-1.png, Lung_Opacity/images/Lung_Opacity-1.png
  TB_Chest_Radiography_Database.zip   TB_Chest_Radiography_Database/{Tuberculosis,Normal}/<Class>-<n>.png
  OCT2017.tar.gz                      OCT2017/{train,test}/{CNV,DME,DRUSEN,NORMAL}/<CLASS>-<patientId>-<n>.jpeg
  synth-manifest.json                 ground truth for tests (seed, options, counts, flipped labels); not read by the ETL

--per-class N gives N images per secondread class; lung-normal is split 2/3 COVID-19 database, 1/3 TB
database when both are written. The same seed and options give byte-identical archives.
Difficulty knobs, class appearances and nuisances: docs/synthetic-data.md.

With --format dicom the same layouts hold .dcm files instead (build them with a config whose globs
select *.dcm, e.g. examples/datasets-dicom.yaml): docs/synthetic-data.md.

--task detect writes the detector's phantoms in the VinDr-CXR layout instead (docs/detection.md):
  vindr-cxr-synth/train/<image_id>.png (.dicom with --format dicom), 14 findings boxed at plausible
  places and sizes, 0-4 per image; vindr-cxr-synth/annotations/annotations_train.csv with three
  simulated readers per image (image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max; jitter,
  misses, neighbouring-class confusions, 'No finding' rows); datasets-detect.yaml that builds it;
  synth-detect-manifest.json with the true boxes. Options: --images, --size, --normal-fraction.

Examples:
  secondread data synth --out /tmp/raw --per-class 300
  secondread data synth --task detect --out /tmp/vindr --images 3000 --size 256
  secondread data synth --out /tmp/dcm --per-class 20 --cxr-size 256 --format dicom
  secondread data synth --out /tmp/small --per-class 20 --cxr-size 256 --oct-width 128 --oct-height 124 --datasets covid,oct
  secondread data synth --out /tmp/film --per-class 20 --cxr-scanner film     (acquisition shift: every CXR digitised film)

Acquisition shift (docs/drift.md): --cxr-scanner cr|dr|film and --oct-scanner render every image of that modality
with one scanner style instead of one drawn per image; same seed = same patients and findings, other acquisition.
`;

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}

/** The end-of-run summary of `--task detect`. */
export function formatDetectSummary(result: DetectSynthResult, seconds: number): string {
  const m = result.manifest;
  const out = [
    `  ${result.root}: ${m.options.images} images (${m.abnormalImages} with findings), ${m.options.size} px, ${m.options.format}`,
    ...Object.entries(m.classCounts).map(([c, n]) => `    ${c.padEnd(20)} ${String(n).padStart(6)} true boxes`),
    `  annotations: ${result.csvPath} (${m.annotationRows} reader rows)`,
    `  dataset config: ${result.configPath}`,
    `  manifest: ${result.manifestPath}`,
    `  done in ${seconds.toFixed(1)} s`,
  ];
  return `${out.join('\n')}\n`;
}

/** The end-of-run table: one row per archive and class folder. */
export function formatSynthSummary(result: SynthResult, seconds: number): string {
  const rows: string[][] = [['archive', 'folder', 'images']];
  for (const a of result.archives) {
    for (const [folder, n] of Object.entries(a.folders)) rows.push([a.path.split('/').pop() ?? a.path, folder, String(n)]);
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => `  ${(r[0] ?? '').padEnd(widths[0] ?? 0)}  ${(r[1] ?? '').padEnd(widths[1] ?? 0)}  ${(r[2] ?? '').padStart(widths[2] ?? 0)}`;
  const out = [line(rows[0] as string[]), ...rows.slice(1).map(line), ''];
  for (const a of result.archives) out.push(`  ${a.path}  ${a.entries} images, ${formatBytes(a.bytes)}, sha256 ${a.sha256.slice(0, 16)}…`);
  const m = result.manifest;
  if (m.oct)
    out.push(
      `  OCT: ${m.oct.patients} patients (${m.oct.multiClassPatients} in two classes, ${m.oct.crossSplitPatients} in both splits), ${m.oct.images.train} train / ${m.oct.images.test} test images`,
    );
  out.push(
    `  flipped labels: ${m.flipped.length} (label noise ${m.options.labelNoise})`,
    `  manifest: ${result.manifestPath}`,
    `  done in ${seconds.toFixed(1)} s`,
  );
  return `${out.join('\n')}\n`;
}

export function registerDataSynth(program: Command): void {
  dataCommand(program)
    .command('synth')
    .description("write synthetic chest X-ray and OCT phantom archives in the public datasets' layouts (seeded, reproducible)")
    .requiredOption('--out <dir>', 'output directory (created if missing; must be empty unless --force)')
    .addOption(
      new Option('--task <task>', 'classify: the nine-class archives; detect: VinDr-layout boxed findings').choices(['classify', 'detect']).default('classify'),
    )
    .option('--images <n>', `detect: number of images (default ${DETECT_SYNTH_DEFAULTS.images})`, integer('--images'))
    .option('--size <px>', `detect: image width and height (default ${DETECT_SYNTH_DEFAULTS.size})`, integer('--size'))
    .option('--normal-fraction <p>', `detect: share of images without findings (default ${DETECT_SYNTH_DEFAULTS.normalFraction})`, fraction)
    .option('--per-class <n>', 'images per secondread class', integer('--per-class'), SYNTH_DEFAULTS.perClass)
    .option('--seed <n>', 'random seed (same seed + options = byte-identical archives)', integer('--seed'), SYNTH_DEFAULTS.seed)
    .option('--label-noise <p>', 'share of images filed under another class of the same modality', fraction, SYNTH_DEFAULTS.labelNoise)
    .option('--cxr-size <px>', 'chest X-ray width and height', integer('--cxr-size'), SYNTH_DEFAULTS.cxrSize)
    .option('--oct-width <px>', 'OCT B-scan width', integer('--oct-width'), SYNTH_DEFAULTS.octWidth)
    .option('--oct-height <px>', 'OCT B-scan height', integer('--oct-height'), SYNTH_DEFAULTS.octHeight)
    .addOption(
      new Option('--cxr-scanner <style>', 'acquisition shift: render every chest X-ray as this scanner style (default: drawn per image)').choices([
        ...CXR_SCANNERS,
      ]),
    )
    .addOption(
      new Option('--oct-scanner <style>', 'acquisition shift: render every OCT as this scanner style (default: drawn per image)').choices([...OCT_SCANNERS]),
    )
    .addOption(new Option('--datasets <list>', 'which archives to write').argParser(datasetList).default([...SYNTH_DATASETS], SYNTH_DATASETS.join(',')))
    .option('--workers <n>', 'render threads (0 = main thread only; default: one per core, at most 4)', integer('--workers'))
    .option('--force', 'write into a non-empty output directory, replacing archives of the same name', false)
    .addOption(
      new Option(
        '--format <format>',
        'image files: original (PNG/JPEG as the public datasets) or dicom (.dcm: CR 12-bit MONOCHROME1/2, OCT as OPT, rotating transfer syntaxes, fake PHI in every profile attribute)',
      )
        .choices(['original', 'dicom'])
        .default('original'),
    )
    .addHelpText('after', HELP_AFTER)
    .action(
      async (opts: {
        out: string;
        perClass: number;
        seed: number;
        labelNoise: number;
        cxrSize: number;
        octWidth: number;
        octHeight: number;
        datasets: SynthDataset[];
        cxrScanner?: string;
        octScanner?: string;
        workers?: number;
        force: boolean;
        format: 'original' | 'dicom';
        task: 'classify' | 'detect';
        images?: number;
        size?: number;
        normalFraction?: number;
      }) => {
        const progress = createProgressRenderer();
        const started = performance.now();
        if (opts.task === 'detect') {
          let detect: DetectSynthResult;
          try {
            detect = await synthesizeDetection({
              outDir: opts.out,
              images: opts.images,
              size: opts.size,
              seed: opts.seed,
              normalFraction: opts.normalFraction,
              format: opts.format === 'dicom' ? 'dicom' : 'png',
              workers: opts.workers,
              force: opts.force,
              onProgress: progress.onProgress,
            });
          } finally {
            progress.stop();
          }
          process.stdout.write(formatDetectSummary(detect, (performance.now() - started) / 1000));
          return;
        }
        let result: SynthResult;
        try {
          result = await synthesizeArchives({ outDir: opts.out, ...opts, onProgress: progress.onProgress });
        } finally {
          progress.stop();
        }
        process.stdout.write(formatSynthSummary(result, (performance.now() - started) / 1000));
      },
    );
}
