// Writes the synthetic archives (in the public datasets' layouts) and a ground-truth manifest.
// Images are rendered on worker threads, encoded by sharp (off the JS thread) and appended to
// streaming archive writers in plan order, with a bounded number in flight.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ConflictError, ValidationError } from '../../core/errors.js';
import { noProgress, type ProgressFn } from '../../core/progress.js';
import { createWorkerPool, defaultWorkerCount, siblingModule } from '../../core/workers.js';
import type { SecondreadClass } from '../classes.js';
import { type ArchiveWriter, createTarGzWriter, createZipWriter } from './archive-writer.js';
import { CXR_SCANNERS } from './cxr-acquisition.js';
import { encodeDicomPhantom } from './dicom-phantom.js';
import { encodeGray } from './encode.js';
import { LAYOUTS, SYNTH_DATASETS, type SynthDataset } from './layouts.js';
import { OCT_SCANNERS } from './oct-acquisition.js';
import { orderedResults } from './ordered.js';
import { type PlannedImage, planSynthesis } from './plan.js';
import { type RenderTask, renderTask } from './render.js';
import type { RenderedImage } from './types.js';

export interface SynthOptions {
  outDir: string;
  /** Images per secondread class (lung-normal is shared between the two CXR databases). */
  perClass?: number;
  seed?: number;
  /** Probability an image is filed under another class of the same modality (default 0.02). */
  labelNoise?: number;
  /** CXR width = height in pixels (default 1024). */
  cxrSize?: number;
  octWidth?: number;
  octHeight?: number;
  datasets?: readonly SynthDataset[];
  /**
   * Acquisition shift: every CXR / OCT rendered with this one scanner style (CXR_SCANNERS, OCT_SCANNERS) instead of a
   * style drawn per image. The same seed gives the same patients and findings under the other acquisition
   * (render-setup.ts forks the streams before the style is drawn), so a shifted set differs only in acquisition.
   */
  cxrScanner?: string;
  octScanner?: string;
  /** Render threads; 0 renders on the calling thread (default: one per core, at most 4). */
  workers?: number;
  /** Write into a non-empty directory (replacing same-named archives). */
  force?: boolean;
  /** The image files: as the public datasets store them (PNG/JPEG, default) or as DICOM (`.dcm`). */
  format?: 'original' | 'dicom';
  onProgress?: ProgressFn;
}

export const SYNTH_DEFAULTS = { perClass: 300, seed: 1, labelNoise: 0.02, cxrSize: 1024, octWidth: 512, octHeight: 496 } as const;

export interface SynthArchive {
  dataset: SynthDataset;
  path: string;
  /** Image entries (directories not counted). */
  entries: number;
  bytes: number;
  sha256: string;
  /** Images per dataset class folder, as filed. */
  folders: Record<string, number>;
}

export interface FlippedLabel {
  archive: string;
  entry: string;
  filedAs: SecondreadClass;
  shows: SecondreadClass;
}

export interface SynthManifest {
  generator: 'secondread-synth/1';
  seed: number;
  options: {
    perClass: number;
    labelNoise: number;
    cxrSize: number;
    octWidth: number;
    octHeight: number;
    datasets: SynthDataset[];
    /** Present only for an acquisition-shifted set. */
    cxrScanner?: string;
    octScanner?: string;
  };
  archives: Array<Omit<SynthArchive, 'path'> & { file: string }>;
  /** Images filed under each secondread class, over all archives. */
  classCounts: Partial<Record<SecondreadClass, number>>;
  flipped: FlippedLabel[];
  oct?: { patients: number; multiClassPatients: number; crossSplitPatients: number; images: { train: number; test: number } };
}

export interface SynthResult {
  archives: SynthArchive[];
  manifestPath: string;
  manifest: SynthManifest;
}

const MANIFEST_FILE = 'synth-manifest.json';

/** An option that must be an integer in [lo, hi] (both synth tasks check theirs with it). */
export function requireInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new ValidationError(`${name} must be an integer from ${lo} to ${hi}, got ${v}`, { [name]: v });
}

function resolveOptions(o: SynthOptions) {
  const r = {
    perClass: o.perClass ?? SYNTH_DEFAULTS.perClass,
    seed: o.seed ?? SYNTH_DEFAULTS.seed,
    labelNoise: o.labelNoise ?? SYNTH_DEFAULTS.labelNoise,
    cxrSize: o.cxrSize ?? SYNTH_DEFAULTS.cxrSize,
    octWidth: o.octWidth ?? SYNTH_DEFAULTS.octWidth,
    octHeight: o.octHeight ?? SYNTH_DEFAULTS.octHeight,
    datasets: SYNTH_DATASETS.filter((d) => (o.datasets ?? SYNTH_DATASETS).includes(d)),
    cxrScanner: o.cxrScanner,
    octScanner: o.octScanner,
  };
  if (r.cxrScanner !== undefined && !(CXR_SCANNERS as readonly string[]).includes(r.cxrScanner))
    throw new ValidationError(`cxrScanner must be one of ${CXR_SCANNERS.join(', ')}, got '${r.cxrScanner.slice(0, 20)}'`);
  if (r.octScanner !== undefined && !(OCT_SCANNERS as readonly string[]).includes(r.octScanner))
    throw new ValidationError(`octScanner must be one of ${OCT_SCANNERS.join(', ')}, got '${r.octScanner.slice(0, 20)}'`);
  const int = requireInt;
  int('perClass', r.perClass, 1, 1_000_000);
  int('seed', r.seed, 0, 2 ** 32 - 1);
  int('cxrSize', r.cxrSize, 32, 4096);
  int('octWidth', r.octWidth, 32, 4096);
  int('octHeight', r.octHeight, 32, 4096);
  if (!(r.labelNoise >= 0 && r.labelNoise <= 0.5)) throw new ValidationError(`labelNoise must be between 0 and 0.5, got ${r.labelNoise}`);
  if (r.datasets.length === 0) throw new ValidationError(`datasets must name at least one of ${SYNTH_DATASETS.join(', ')}`);
  return r;
}

export async function assertWritableDir(dir: string, force: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  const existing = await readdir(dir);
  if (existing.length > 0 && !force) {
    throw new ConflictError(`output directory ${dir} is not empty (${existing.length} entries); use --force to write into it anyway`, { dir });
  }
}

export async function synthesizeArchives(options: SynthOptions): Promise<SynthResult> {
  const o = resolveOptions(options);
  const onProgress = options.onProgress ?? noProgress;
  await assertWritableDir(options.outDir, options.force ?? false);

  const plan = planSynthesis(o);
  const total = o.datasets.reduce((n, d) => n + (plan[d]?.length ?? 0), 0);
  const workerCount = options.workers ?? defaultWorkerCount();
  const pool = workerCount > 0 ? createWorkerPool<RenderTask, RenderedImage>(siblingModule(import.meta.url, 'render-worker'), workerCount) : undefined;
  const window = Math.max(2, 2 * workerCount + 2);

  const archives: SynthArchive[] = [];
  const flipped: FlippedLabel[] = [];
  const classCounts: Partial<Record<SecondreadClass, number>> = {};
  let done = 0;
  try {
    for (const ds of o.datasets) {
      const layout = LAYOUTS[ds];
      const images = plan[ds] ?? [];
      const path = join(options.outDir, layout.archive);
      const writer: ArchiveWriter = layout.format === 'zip' ? createZipWriter(path) : createTarGzWriter(path);
      const toTask = (im: PlannedImage): RenderTask =>
        ds === 'oct'
          ? { cls: im.shownClass, seed: im.seed, width: o.octWidth, height: o.octHeight, ...(o.octScanner ? { scanner: o.octScanner } : {}) }
          : { cls: im.shownClass, seed: im.seed, width: o.cxrSize, height: o.cxrSize, ...(o.cxrScanner ? { scanner: o.cxrScanner } : {}) };
      const folders: Record<string, number> = {};
      const dicom = options.format === 'dicom';
      const indexOf = new Map(images.map((im, i) => [im, i]));
      const encode = dicom
        ? (r: RenderedImage, im: PlannedImage) =>
            encodeDicomPhantom(r, { modality: ds === 'oct' ? 'oct' : 'cxr', index: indexOf.get(im) ?? 0, seed: im.seed, patientId: im.patientId ?? undefined })
        : (r: RenderedImage) => encodeGray(r, layout.encoding);
      for await (const { item: image, result: bytes } of orderedResults(images, toTask, renderTask, encode, pool, window)) {
        const entry = dicom ? image.entry.replace(/\.(png|jpe?g)$/i, '.dcm') : image.entry;
        await writer.add(entry, bytes);
        const folder = layout.folders[image.filedClass] as string;
        folders[folder] = (folders[folder] ?? 0) + 1;
        classCounts[image.filedClass] = (classCounts[image.filedClass] ?? 0) + 1;
        if (image.shownClass !== image.filedClass) flipped.push({ archive: layout.archive, entry, filedAs: image.filedClass, shows: image.shownClass });
        onProgress({ phase: 'synth', done: ++done, total, info: { archive: layout.archive } });
      }
      const summary = await writer.finish();
      archives.push({ dataset: ds, path, entries: images.length, ...summary, folders });
    }
  } finally {
    await pool?.close();
  }

  const manifest: SynthManifest = {
    generator: 'secondread-synth/1',
    seed: o.seed,
    options: {
      perClass: o.perClass,
      labelNoise: o.labelNoise,
      cxrSize: o.cxrSize,
      octWidth: o.octWidth,
      octHeight: o.octHeight,
      datasets: o.datasets,
      ...(o.cxrScanner ? { cxrScanner: o.cxrScanner } : {}),
      ...(o.octScanner ? { octScanner: o.octScanner } : {}),
    },
    archives: archives.map(({ path: _path, ...a }) => ({ file: LAYOUTS[a.dataset].archive, ...a })),
    classCounts,
    flipped,
    ...(plan.oct ? { oct: octSummary(plan.oct) } : {}),
  };
  const manifestPath = join(options.outDir, MANIFEST_FILE);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { archives, manifestPath, manifest };
}

function octSummary(images: readonly PlannedImage[]): NonNullable<SynthManifest['oct']> {
  const classes = new Map<string, Set<SecondreadClass>>();
  const splits = new Map<string, Set<string>>();
  for (const im of images) {
    const id = im.patientId as string;
    classes.set(id, (classes.get(id) ?? new Set()).add(im.filedClass));
    splits.set(id, (splits.get(id) ?? new Set()).add(im.split as string));
  }
  return {
    patients: classes.size,
    multiClassPatients: [...classes.values()].filter((s) => s.size > 1).length,
    crossSplitPatients: [...splits.values()].filter((s) => s.size > 1).length,
    images: { train: images.filter((i) => i.split === 'train').length, test: images.filter((i) => i.split === 'test').length },
  };
}
