// The dataset build config (datasets.yaml): which archives (or folders), how their folders — or their
// labels sheets (RSNA, VinDr-CXR: data/etl/labels.ts) — map to the nine secondread classes, how patients
// are recognised, split ratios, seed and extraction limits.
// Validated with zod; every mistake is a ValidationError (user input: exit 2, HTTP 400) naming its YAML path.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { ValidationError } from '../../core/errors.js';
import { type ArchiveFormat, type ArchiveLimits } from '../archive/index.js';
import { SECONDREAD_CLASSES, type SecondreadClass } from '../classes.js';
import { FUSION_DEFAULTS, FUSION_METHODS, type FusionOptions } from '../detection/fusion.js';
import { globToRegExp } from './glob.js';
import { LABEL_LAYOUTS, type LabelLayout, type LabelRule } from './labels.js';

/** A source is an archive, or a folder (`dir`: an unpacked download, read under the same limits). */
export type SourceFormat = ArchiveFormat | 'dir';
export const SOURCE_FORMATS = ['zip', 'tar.gz', 'dir'] as const satisfies readonly SourceFormat[];

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes (e.g. kermany-oct2017)');

const classRule = z
  .object({
    /** The dataset's own class name (folder name), kept in the manifest for traceability. */
    source: z.string().min(1),
    class: z.enum(SECONDREAD_CLASSES, { error: (iss) => `unknown class '${String(iss.input)}' (known: ${SECONDREAD_CLASSES.join(', ')})` }),
    glob: z.string().min(1).optional(),
    regex: z.string().min(1).optional(),
  })
  .strict();

const labelsRule = z
  .object({
    layout: z.enum(LABEL_LAYOUTS),
    /** Glob of the image files the sheet labels (entry paths inside the archive or folder). */
    images: z.string().min(1),
    /** Glob of the labels sheet: exactly one entry must match. */
    csv: z.string().min(1),
    /** RSNA only: glob of stage_2_detailed_class_info.csv. */
    class_info: z.string().min(1).optional(),
  })
  .strict()
  .refine((l) => l.class_info === undefined || l.layout === 'rsna', { message: 'class_info is read for the rsna layout only', path: ['class_info'] });

const patientRule = z
  .object({
    /** Applied to the entry's file name; capture group 1 is the patient id. */
    regex: z.string().min(1),
    /** Prefix of the patient key (`<namespace>:<id>`); sources sharing a namespace share patients. */
    namespace: slug.optional(),
  })
  .strict();

const sourceSchema = z
  .object({
    dataset: slug,
    archive: z.string().min(1),
    format: z.enum(SOURCE_FORMATS),
    classes: z.array(classRule).min(1),
    exclude: z.array(z.string().min(1)).default(['**/__MACOSX/**', '**/._*']),
    patient: patientRule.optional(),
    labels: labelsRule.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const [ri, r] of s.classes.entries()) {
      const patterns = (r.glob === undefined ? 0 : 1) + (r.regex === undefined ? 0 : 1);
      if (s.labels && patterns > 0)
        ctx.addIssue({ code: 'custom', path: ['classes', ri], message: 'with labels, a class rule maps a label (source) to a class: no glob or regex' });
      if (!s.labels && patterns !== 1) ctx.addIssue({ code: 'custom', path: ['classes', ri], message: 'give exactly one of glob or regex' });
    }
  });

export interface SplitRatios {
  train: number;
  val: number;
  test: number;
  /** Share of val ∪ test (per class and split) flagged final_eval. */
  finalEvalFraction: number;
}

/** 7:2:1, half of val ∪ test flagged final_eval: the ETL's default and the feedback datasets' (data/feedback). */
export const DEFAULT_SPLIT: SplitRatios = { train: 0.7, val: 0.2, test: 0.1, finalEvalFraction: 0.5 };

const ratio = z.number().min(0).max(1);

/** How readers' boxes become one reference (data/detection/fusion.ts; docs/detection.md, "Reader fusion"). */
const detectionSchema = z
  .object({
    fusion: z
      .object({
        method: z.enum(FUSION_METHODS),
        iou: z.number().gt(0).lt(1).optional(),
        min_readers: z.number().int().min(1).optional(),
      })
      .strict(),
  })
  .strict();

const configSchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    /** Base directory for relative archive paths (default: the config file's directory). */
    raw_dir: z.string().min(1).optional(),
    seed: z.number().int().default(42),
    split: z
      .object({ train: ratio, val: ratio, test: ratio, final_eval_fraction: ratio.default(0.5) })
      .strict()
      .default({ train: DEFAULT_SPLIT.train, val: DEFAULT_SPLIT.val, test: DEFAULT_SPLIT.test, final_eval_fraction: DEFAULT_SPLIT.finalEvalFraction })
      .refine((s) => Math.abs(s.train + s.val + s.test - 1) < 1e-9, { message: 'train + val + test must add up to 1' })
      .refine((s) => s.train > 0, { message: 'train must be greater than 0' }),
    limits: z
      .object({
        max_entries: z.number().int().positive().optional(),
        max_entry_bytes: z.number().int().positive().optional(),
        max_total_bytes: z.number().int().positive().optional(),
        max_compression_ratio: z.number().positive().optional(),
      })
      .strict()
      .default({}),
    sources: z.array(sourceSchema).min(1),
    detection: detectionSchema.optional(),
  })
  .strict();

export type RawDatasetConfig = z.infer<typeof configSchema>;

export interface ClassRule {
  source: string;
  class: SecondreadClass;
  pattern: string;
  kind: 'glob' | 'regex';
  test(path: string): boolean;
}

export interface SourceConfig {
  dataset: string;
  /** Absolute path of the archive file (or of the folder, for format `dir`). */
  archivePath: string;
  format: SourceFormat;
  /** Folder rules; empty for a source whose classes come from a labels sheet. */
  classes: ClassRule[];
  exclude: string[];
  isExcluded(path: string): boolean;
  patient?: { regex: RegExp; pattern: string; namespace: string };
  labels?: LabelsConfig;
}

/** A source labelled by a sheet (data/etl/labels.ts) rather than by folders. */
export interface LabelsConfig {
  layout: LabelLayout;
  images: string;
  csv: string;
  classInfo?: string;
  /** Label → class, in priority order. */
  rules: LabelRule[];
  isImage(path: string): boolean;
  isCsv(path: string): boolean;
  isClassInfo(path: string): boolean;
}

export interface DatasetConfig {
  name?: string;
  seed: number;
  split: SplitRatios;
  limits: Partial<ArchiveLimits>;
  sources: SourceConfig[];
  /** For detection datasets: how each image's reader boxes are fused into the reference (annotations.jsonl). */
  detection?: { fusion: FusionOptions };
}

export interface LoadDatasetConfigOptions {
  /** Overrides `raw_dir` (CLI --raw-dir). */
  rawDir?: string;
  /** Skip the archive-existence check (tests of the schema alone). */
  checkArchives?: boolean;
}

function compile(path: string, pattern: string, kind: 'glob' | 'regex'): RegExp {
  try {
    return kind === 'glob' ? globToRegExp(pattern) : new RegExp(pattern);
  } catch (err) {
    throw new ValidationError(`${path}: invalid ${kind} '${pattern}': ${(err as Error).message}`);
  }
}

/** Parses and checks a config object; `baseDir` resolves relative archive paths. */
export function parseDatasetConfig(raw: unknown, baseDir: string, opts: LoadDatasetConfigOptions = {}): DatasetConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ValidationError(`invalid dataset config: ${issues.join('; ')}`, { issues });
  }
  const c = result.data;
  const root = opts.rawDir ? resolve(opts.rawDir) : c.raw_dir ? resolve(baseDir, c.raw_dir) : baseDir;
  const seen = new Set<string>();
  const sources = c.sources.map((s, si): SourceConfig => {
    if (seen.has(s.dataset)) throw new ValidationError(`sources.${si}.dataset: '${s.dataset}' is listed twice`);
    seen.add(s.dataset);
    const archivePath = isAbsolute(s.archive) ? s.archive : resolve(root, s.archive);
    if (opts.checkArchives !== false && existsSync(archivePath) && statSync(archivePath).isDirectory() !== (s.format === 'dir')) {
      throw new ValidationError(
        `sources.${si}.archive: ${archivePath} is a ${s.format === 'dir' ? 'file, not a folder (format dir reads a folder)' : `folder; use format: dir to read a folder`}`,
        { archive: archivePath },
      );
    }
    if (opts.checkArchives !== false && !existsSync(archivePath)) {
      throw new ValidationError(
        `sources.${si}.archive: file not found: ${archivePath}${opts.rawDir || c.raw_dir ? '' : ' (relative paths resolve against the config file; set raw_dir or pass --raw-dir)'}`,
        {
          archive: archivePath,
        },
      );
    }
    let labels: LabelsConfig | undefined;
    if (s.labels) {
      const l = s.labels;
      const seenLabels = new Set<string>();
      for (const [ri, r] of s.classes.entries()) {
        if (seenLabels.has(r.source)) throw new ValidationError(`sources.${si}.classes.${ri}.source: label '${r.source}' is mapped twice`);
        seenLabels.add(r.source);
      }
      const images = compile(`sources.${si}.labels.images`, l.images, 'glob');
      const csv = compile(`sources.${si}.labels.csv`, l.csv, 'glob');
      const info = l.class_info === undefined ? undefined : compile(`sources.${si}.labels.class_info`, l.class_info, 'glob');
      labels = {
        layout: l.layout,
        images: l.images,
        csv: l.csv,
        classInfo: l.class_info,
        rules: s.classes.map((r) => ({ source: r.source, class: r.class })),
        isImage: (p) => images.test(p),
        isCsv: (p) => csv.test(p),
        isClassInfo: (p) => info?.test(p) ?? false,
      };
    }
    const classes = (labels ? [] : s.classes).map((r, ri): ClassRule => {
      const kind = r.glob !== undefined ? 'glob' : 'regex';
      const pattern = (r.glob ?? r.regex)!;
      const re = compile(`sources.${si}.classes.${ri}`, pattern, kind);
      return { source: r.source, class: r.class, pattern, kind, test: (p) => re.test(p) };
    });
    const excludes = s.exclude.map((g, gi) => compile(`sources.${si}.exclude.${gi}`, g, 'glob'));
    let patient: SourceConfig['patient'];
    if (s.patient) {
      const regex = compile(`sources.${si}.patient.regex`, s.patient.regex, 'regex');
      patient = { regex, pattern: s.patient.regex, namespace: s.patient.namespace ?? s.dataset };
    }
    return {
      dataset: s.dataset,
      archivePath,
      format: s.format,
      classes,
      exclude: s.exclude,
      isExcluded: (p) => excludes.some((re) => re.test(p)),
      patient,
      labels,
    };
  });
  return {
    name: c.name,
    seed: c.seed,
    split: { train: c.split.train, val: c.split.val, test: c.split.test, finalEvalFraction: c.split.final_eval_fraction },
    limits: {
      ...(c.limits.max_entries !== undefined && { maxEntries: c.limits.max_entries }),
      ...(c.limits.max_entry_bytes !== undefined && { maxEntryBytes: c.limits.max_entry_bytes }),
      ...(c.limits.max_total_bytes !== undefined && { maxTotalBytes: c.limits.max_total_bytes }),
      ...(c.limits.max_compression_ratio !== undefined && { maxCompressionRatio: c.limits.max_compression_ratio }),
    },
    sources,
    ...(c.detection && {
      detection: {
        fusion: {
          method: c.detection.fusion.method,
          iou: c.detection.fusion.iou ?? FUSION_DEFAULTS[c.detection.fusion.method].iou,
          minReaders: c.detection.fusion.min_readers ?? FUSION_DEFAULTS[c.detection.fusion.method].minReaders,
        },
      },
    }),
  };
}

/** Reads a datasets.yaml file: file-not-found, YAML syntax and schema errors all become ValidationError. */
export function loadDatasetConfig(file: string, opts: LoadDatasetConfigOptions = {}): DatasetConfig {
  const path = resolve(file);
  if (!existsSync(path)) throw new ValidationError(`dataset config not found: ${path}`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ValidationError(`dataset config '${path}' is not valid YAML: ${(err as Error).message}`);
  }
  return parseDatasetConfig(raw, dirname(path), opts);
}

/** Which rule of a source claims an entry: undefined when none, ValidationError when several do. */
export function matchClass(source: SourceConfig, path: string): ClassRule | undefined {
  if (source.isExcluded(path)) return undefined;
  const hits = source.classes.filter((r) => r.test(path));
  if (hits.length > 1) {
    throw new ValidationError(
      `dataset '${source.dataset}': entry '${path}' matches several class rules (${hits.map((h) => `${h.source}: ${h.pattern}`).join('; ')}); make the patterns disjoint`,
      {
        dataset: source.dataset,
        entry: path,
      },
    );
  }
  return hits[0];
}

/** The patient key of an entry (`<namespace>:<id>`), or undefined for a source without patient ids. */
export function patientKeyOf(source: SourceConfig, path: string): string | null | undefined {
  if (!source.patient) return undefined;
  const base = path.slice(path.lastIndexOf('/') + 1);
  const id = source.patient.regex.exec(base)?.[1];
  return id ? `${source.patient.namespace}:${id}` : null;
}
