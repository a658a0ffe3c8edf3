// Reads labels written by an annotation tool (COCO JSON, YOLO text, a Label Studio JSON export) and
// matches them to the images of a dataset version, checking everything at this boundary: a file that
// is not JSON, a class outside the 14 findings, a box outside its image, an image the version does not
// hold, an image size that differs from the stored image's, an image labelled twice. Every error names
// the file and the record (image, annotation, task or line). Nothing is written here.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';

import { parse as parseYaml } from 'yaml';

import { ValidationError } from '../../../core/errors.js';
import { sha256Hex } from '../../../core/ids.js';
import { type ArchiveFormat, readArchive } from '../../archive/index.js';
import { type Box, DETECTION_CLASSES } from '../types.js';
import { fromCoco } from './coco.js';
import { readLabelStudioReviews } from './label-studio.js';
import { fromYoloLabels } from './yolo.js';

export const EXCHANGE_FORMATS = ['coco', 'yolo', 'labelstudio'] as const;
export type ExchangeFormat = (typeof EXCHANGE_FORMATS)[number];

/** The prefix of an imported reader's id (`ls:dr.a@example.org`, `coco:unknown`). */
export const READER_PREFIX: Record<ExchangeFormat, string> = { coco: 'coco', yolo: 'yolo', labelstudio: 'ls' };

/** A stored image a label may name. */
export interface ImportTarget {
  objectKey: string;
  width: number;
  height: number;
}

/** Finds the stored image a file names (by file name, or by name without extension: exports turn DICOM into PNG). */
export type ImageLookup = (name: string) => ImportTarget | undefined;

/** One image's labels from the files, matched to its stored image. */
export interface ImportedLabel {
  objectKey: string;
  /** Pixel boxes in the stored image; [] = labelled with no finding. */
  boxes: Box[];
  /** Who labelled it: Label Studio's `completed_by`, else the importer's `--annotator`; null when unknown. */
  annotator: string | null;
  /** Where it came from: the file (relative to the imported path), the record, and the tool's fields. */
  source: { file: string; record: string; fields: Record<string, unknown> };
}

export interface ImportFiles {
  files: { path: string; sha256: string }[];
  labels: ImportedLabel[];
  /** Records that carry no label (Label Studio tasks nobody submitted), as `file: record`. */
  unreviewed: string[];
}

interface ReadFile {
  rel: string;
  text: string;
}

const ARCHIVE_SUFFIXES: readonly [string, ArchiveFormat][] = [
  ['.zip', 'zip'],
  ['.tar.gz', 'tar.gz'],
  ['.tgz', 'tar.gz'],
];

/**
 * The wanted files of `path` with their paths relative to it ('/'-separated), sorted: a folder's files
 * (recursively), an archive's entries (read under the ETL's archive policy: data/archive), or the file itself.
 */
async function readSource(path: string, wanted: (rel: string) => boolean, single: boolean): Promise<{ rel: string; bytes: Buffer }[]> {
  const s = await stat(path).catch(() => undefined);
  if (!s) throw new ValidationError(`${path}: no such file or directory`);
  const out: { rel: string; bytes: Buffer }[] = [];
  const archive = ARCHIVE_SUFFIXES.find(([suffix]) => path.toLowerCase().endsWith(suffix));
  if (s.isDirectory()) {
    const walk = async (dir: string) => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        const rel = relative(path, p).split(sep).join('/');
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && wanted(rel)) out.push({ rel, bytes: await readFile(p) });
      }
    };
    await walk(path);
  } else if (archive) {
    await readArchive(path, {
      format: archive[1],
      select: wanted,
      onFile: async (f) => {
        out.push({ rel: f.path, bytes: f.data });
      },
    });
  } else if (single) out.push({ rel: basename(path), bytes: await readFile(path) });
  else throw new ValidationError(`${path}: expected a folder or a .zip / .tar.gz archive`);
  return out.sort((x, y) => (x.rel < y.rel ? -1 : x.rel > y.rel ? 1 : 0));
}

function parseJson(f: ReadFile): unknown {
  try {
    return JSON.parse(f.text) as unknown;
  } catch (err) {
    throw new ValidationError(`${f.rel}: not valid JSON (${(err as Error).message})`);
  }
}

class Matcher {
  readonly labels: ImportedLabel[] = [];
  private readonly seen = new Map<string, string>();
  constructor(private readonly lookup: ImageLookup) {}

  /** The stored image `name` refers to, checked; the label is recorded. */
  add(name: string, where: string, size: { width: number; height: number } | null, label: Omit<ImportedLabel, 'objectKey'>): void {
    const target = this.lookup(name);
    if (!target) throw new ValidationError(`${where}: image '${name}' is not in the base dataset version`);
    if (size && (size.width !== target.width || size.height !== target.height))
      throw new ValidationError(`${where}: the file gives '${name}' as ${size.width}×${size.height}, the dataset's image is ${target.width}×${target.height}`);
    const before = this.seen.get(target.objectKey);
    if (before !== undefined) throw new ValidationError(`${where}: image '${name}' is labelled twice (also by ${before})`);
    this.seen.set(target.objectKey, where);
    this.labels.push({ objectKey: target.objectKey, ...label });
  }
}

function readCoco(files: ReadFile[], m: Matcher, annotator: string | null): void {
  for (const f of files) {
    const json = parseJson(f);
    const images = fromCoco(json, f.rel);
    const raw = json as { images: { id: number }[]; annotations: { id: number; image_id: number }[] };
    const annotationIds = new Map<number, number[]>();
    for (const a of raw.annotations) {
      const ids = annotationIds.get(a.image_id) ?? [];
      ids.push(a.id);
      annotationIds.set(a.image_id, ids);
    }
    images.forEach((im, i) => {
      const id = raw.images[i]!.id;
      m.add(basename(im.imageId), `${f.rel}: image ${id} (${im.imageId})`, im, {
        boxes: im.boxes,
        annotator,
        source: {
          file: f.rel,
          record: `image ${id}`,
          fields: { image_id: id, annotation_ids: raw.annotations.filter((a) => a.image_id === id).map((a) => a.id) },
        },
      });
    });
  }
}

function readLabelStudio(files: ReadFile[], m: Matcher, unreviewed: string[]): void {
  for (const f of files) {
    const { reviews, unreviewed: skipped } = readLabelStudioReviews(parseJson(f), f.rel);
    for (const r of reviews) {
      const record = `task ${r.task}${r.taskId === null ? '' : ` (id ${r.taskId})`}`;
      m.add(r.imageId, `${f.rel}: ${record}`, r.size, {
        boxes: r.boxes,
        annotator: r.annotator,
        source: { file: f.rel, record, fields: { task_id: r.taskId, annotation_id: r.annotationId, completed_by: r.annotator, updated_at: r.updatedAt } },
      });
    }
    unreviewed.push(...skipped.map((t) => `${f.rel}: task ${t}`));
  }
}

const YOLO_NAME_FILES = ['data.yaml', 'dataset.yaml', 'classes.txt'];

/** The class names of a YOLO file set by index: data.yaml `names` (list or map), else classes.txt, else ours. */
function yoloNames(files: readonly ReadFile[]): string[] {
  const yaml = files.find((f) => f.rel === 'data.yaml') ?? files.find((f) => f.rel === 'dataset.yaml');
  if (yaml) {
    let doc: { names?: unknown };
    try {
      doc = parseYaml(yaml.text) as { names?: unknown };
    } catch (err) {
      throw new ValidationError(`${yaml.rel}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
    }
    const names = doc?.names;
    if (Array.isArray(names)) return names.map(String);
    if (names && typeof names === 'object') {
      const out: string[] = [];
      for (const [k, v] of Object.entries(names as Record<string, unknown>)) {
        if (!/^\d+$/.test(k)) throw new ValidationError(`${yaml.rel}: names: '${k}' is not a class index`);
        out[Number(k)] = String(v);
      }
      return Array.from(out, (v, i) => v ?? `<class ${i} unnamed>`);
    }
    throw new ValidationError(`${yaml.rel}: needs a names list or map`);
  }
  const classes = files.find((f) => f.rel === 'classes.txt');
  if (classes)
    return classes.text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '');
  return [...DETECTION_CLASSES];
}

/** File name without its directory and last extension. */
export const stemOf = (name: string) => basename(name).replace(/\.[^.]*$/, '');

/**
 * Reads `path` — a file, a folder or a .zip / .tar.gz archive: COCO and Label Studio take every .json in it,
 * YOLO every .txt under labels/ (else every .txt) with data.yaml / classes.txt at the top — and matches each
 * labelled image through `lookup`.
 */
export async function readImportFiles(format: ExchangeFormat, path: string, lookup: ImageLookup, opts: { annotator?: string } = {}): Promise<ImportFiles> {
  const wanted = (rel: string) =>
    format === 'yolo' ? rel.toLowerCase().endsWith('.txt') || YOLO_NAME_FILES.includes(rel) : rel.toLowerCase().endsWith('.json');
  const all = (await readSource(path, wanted, format !== 'yolo')).map((f) => ({ rel: f.rel, text: f.bytes.toString('utf8'), sha256: sha256Hex(f.bytes) }));
  // YOLO: the label files are those under labels/ when there is one (Ultralytics), else every .txt (Darknet).
  const underLabels = all.some((f) => f.rel.startsWith('labels/'));
  const files = format === 'yolo' ? all.filter((f) => f.rel.endsWith('.txt') && f.rel !== 'classes.txt' && (!underLabels || f.rel.startsWith('labels/'))) : all;
  if (files.length === 0) throw new ValidationError(`${path}: no ${format === 'yolo' ? '.txt label' : '.json'} files found`);
  const m = new Matcher(lookup);
  const unreviewed: string[] = [];
  const annotator = opts.annotator ?? null;
  if (format === 'coco') readCoco(files, m, annotator);
  else if (format === 'labelstudio') readLabelStudio(files, m, unreviewed);
  else {
    const names = yoloNames(all);
    for (const f of files) {
      const stem = stemOf(f.rel);
      const target = lookup(stem);
      if (!target) throw new ValidationError(`${f.rel}: image '${stem}' is not in the base dataset version`);
      m.add(stem, f.rel, null, {
        boxes: fromYoloLabels(f.text, target.width, target.height, f.rel, names),
        annotator,
        source: { file: f.rel, record: 'file', fields: { label_file: f.rel } },
      });
    }
  }
  const used = new Set(files.map((f) => f.rel));
  const nameFiles = format === 'yolo' ? all.filter((f) => YOLO_NAME_FILES.includes(f.rel) && !used.has(f.rel)) : [];
  return { files: [...files, ...nameFiles].map((f) => ({ path: f.rel, sha256: f.sha256 })), labels: m.labels, unreviewed };
}
