// `data synth --task detect`: the detector's phantoms in the VinDr-CXR layout (a folder tree, as VinDr
// is distributed): train/<image_id>.png (or .dicom), annotations/annotations_train.csv with three
// simulated readers' boxes per image, a datasets.yaml that builds it, and a ground-truth manifest
// (the true boxes, never read by the ETL) for tests and for judging reader fusion.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ValidationError } from '../../core/errors.js';
import { noProgress, type ProgressFn } from '../../core/progress.js';
import { Rng, subSeed } from '../../core/rng.js';
import { createWorkerPool, defaultWorkerCount, siblingModule } from '../../core/workers.js';
import { DETECTION_CLASSES, NO_FINDING } from '../classes.js';
import type { ReaderAnnotationRow } from '../detection/types.js';
import { formatAnnotationsCsv } from '../detection/vindr-csv.js';
import { type DetectPhantom, type DetectRenderTask, renderCxrDetect, type TrueFinding } from './cxr-detect.js';
import { encodeDicomPhantom } from './dicom-phantom.js';
import { encodeGray } from './encode.js';
import { orderedResults } from './ordered.js';
import { readImage } from './readers.js';
import { assertWritableDir, requireInt } from './synthesize.js';

export interface DetectSynthOptions {
  outDir: string;
  /** Number of images (default 3000). */
  images?: number;
  /** Width = height in pixels (default 256). */
  size?: number;
  seed?: number;
  /** Share of images without findings (default 0.3). */
  normalFraction?: number;
  /** PNG exports (default) or DICOM files named <image_id>.dicom, as VinDr ships them. */
  format?: 'png' | 'dicom';
  workers?: number;
  force?: boolean;
  onProgress?: ProgressFn;
}

export const DETECT_SYNTH_DEFAULTS = { images: 3000, size: 256, seed: 1, normalFraction: 0.3, format: 'png' } as const;

/** The folder the VinDr-layout tree is written into, under the output directory. */
export const DETECT_SYNTH_FOLDER = 'vindr-cxr-synth';

export interface DetectSynthManifest {
  generator: 'secondread-synth-detect/1';
  seed: number;
  options: { images: number; size: number; normalFraction: number; format: 'png' | 'dicom' };
  /** Images with at least one true finding, and true boxes per class. */
  abnormalImages: number;
  classCounts: Record<string, number>;
  annotationRows: number;
  images: Array<{ image_id: string; width: number; height: number; findings: Array<TrueFinding & { class_name: string }> }>;
}

export interface DetectSynthResult {
  root: string;
  csvPath: string;
  configPath: string;
  manifestPath: string;
  manifest: DetectSynthManifest;
}

function resolveOptions(o: DetectSynthOptions) {
  const r = {
    images: o.images ?? DETECT_SYNTH_DEFAULTS.images,
    size: o.size ?? DETECT_SYNTH_DEFAULTS.size,
    seed: o.seed ?? DETECT_SYNTH_DEFAULTS.seed,
    normalFraction: o.normalFraction ?? DETECT_SYNTH_DEFAULTS.normalFraction,
    format: o.format ?? DETECT_SYNTH_DEFAULTS.format,
  };
  const int = requireInt;
  int('images', r.images, 1, 1_000_000);
  int('size', r.size, 64, 4096);
  int('seed', r.seed, 0, 2 ** 32 - 1);
  if (!(r.normalFraction >= 0 && r.normalFraction <= 1)) throw new ValidationError(`normalFraction must be between 0 and 1, got ${r.normalFraction}`);
  return r;
}

/** A VinDr-style image id: 32 hex digits, derived from the seed and index (stable across runs). */
export function synthImageId(seed: number, index: number): string {
  return createHash('md5').update(`secondread-synth-detect:${seed}:${index}`).digest('hex');
}

/**
 * The datasets.yaml that builds the tree. The manifest's one class per image is only the split's
 * stratum here (normal vs abnormal): the detector reads the boxes (annotations.jsonl), fused as
 * `detection.fusion` says.
 */
export function detectDatasetConfig(format: 'png' | 'dicom'): string {
  const rules = [`      - { source: '${NO_FINDING}', class: lung-normal }`, ...DETECTION_CLASSES.map((c) => `      - { source: '${c}', class: lung-opacity }`)];
  return [
    '# Built by `secondread data synth --task detect`: the VinDr-CXR layout of the synthetic phantoms.',
    '# Class rules only stratify the split (No finding vs any finding); the detector trains on the boxes.',
    'name: vindr-cxr-synth',
    'seed: 42',
    'split: { train: 0.8, val: 0.1, test: 0.1 }',
    'detection:',
    '  fusion: { method: wbf, iou: 0.4, min_readers: 2 }',
    'sources:',
    `  - dataset: vindr-cxr-synth`,
    `    archive: ${DETECT_SYNTH_FOLDER}`,
    '    format: dir',
    `    labels: { layout: vindr, images: 'train/*.${format === 'png' ? 'png' : 'dicom'}', csv: annotations/annotations_train.csv }`,
    '    classes:',
    ...rules,
    '',
  ].join('\n');
}

export async function synthesizeDetection(options: DetectSynthOptions): Promise<DetectSynthResult> {
  const o = resolveOptions(options);
  const onProgress = options.onProgress ?? noProgress;
  await assertWritableDir(options.outDir, options.force ?? false);
  const root = join(options.outDir, DETECT_SYNTH_FOLDER);
  await mkdir(join(root, 'train'), { recursive: true });
  await mkdir(join(root, 'annotations'), { recursive: true });

  const indices = Array.from({ length: o.images }, (_, i) => i);
  const toTask = (i: number): DetectRenderTask => ({ seed: subSeed(o.seed, 'detect', i), width: o.size, height: o.size, normalFraction: o.normalFraction });
  const workerCount = options.workers ?? defaultWorkerCount();
  const pool =
    workerCount > 0 ? createWorkerPool<DetectRenderTask, DetectPhantom>(siblingModule(import.meta.url, 'render-detect-worker'), workerCount) : undefined;
  const window = Math.max(2, 2 * workerCount + 2);
  const ext = o.format === 'png' ? 'png' : 'dicom';
  const encode = async (p: DetectPhantom, i: number) => {
    const bytes = o.format === 'png' ? await encodeGray(p, 'png') : await encodeDicomPhantom(p, { modality: 'cxr', index: i, seed: toTask(i).seed });
    await writeFile(join(root, 'train', `${synthImageId(o.seed, i)}.${ext}`), bytes);
    return p;
  };

  const rows: ReaderAnnotationRow[] = [];
  const images: DetectSynthManifest['images'] = [];
  const classCounts: Record<string, number> = Object.fromEntries(DETECTION_CLASSES.map((c) => [c, 0]));
  let abnormal = 0;
  try {
    for await (const { item: i, result: p } of orderedResults(indices, toTask, renderCxrDetect, encode, pool, window)) {
      const imageId = synthImageId(o.seed, i);
      // The readers draw from their own stream, so changing how they behave never changes the pixels.
      rows.push(...readImage({ imageId, width: p.width, height: p.height, findings: p.findings }, o.seed, new Rng(subSeed(o.seed, 'readers', i))));
      images.push({
        image_id: imageId,
        width: p.width,
        height: p.height,
        findings: p.findings.map((f) => ({ class_name: DETECTION_CLASSES[f.classId]!, ...f })),
      });
      for (const f of p.findings) classCounts[DETECTION_CLASSES[f.classId]!]! += 1;
      if (p.findings.length > 0) abnormal += 1;
      onProgress({ phase: 'synth detect', done: images.length, total: o.images });
    }
  } finally {
    await pool?.close();
  }

  const csvPath = join(root, 'annotations', 'annotations_train.csv');
  await writeFile(csvPath, formatAnnotationsCsv(rows));
  const configPath = join(options.outDir, 'datasets-detect.yaml');
  await writeFile(configPath, detectDatasetConfig(o.format));
  const manifest: DetectSynthManifest = {
    generator: 'secondread-synth-detect/1',
    seed: o.seed,
    options: { images: o.images, size: o.size, normalFraction: o.normalFraction, format: o.format },
    abnormalImages: abnormal,
    classCounts,
    annotationRows: rows.length,
    images,
  };
  const manifestPath = join(options.outDir, 'synth-detect-manifest.json');
  await writeFile(manifestPath, `${JSON.stringify(manifest)}\n`);
  return { root, csvPath, configPath, manifestPath, manifest };
}
