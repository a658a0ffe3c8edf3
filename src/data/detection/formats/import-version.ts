// `data import`: labels from an annotation tool → a NEW immutable dataset version (docs/detection.md,
// "Annotation formats").
//
//   1. the base must be ready; its images are indexed by file name (and by name without extension);
//   2. the files are read and checked completely (read-import.ts) BEFORE anything is written: a bad file
//      leaves no version behind, not even a failed one;
//   3. id = hash(base, format, the files' names and sha256s, the annotator): the same import twice gives the
//      same id, and a ready version with it is returned untouched;
//   4. the new version holds the base's images and splits unchanged (same rows, same objects: versions are
//      immutable, so sharing is safe); in annotations.jsonl each labelled image gets the importer as one more
//      reader (`ls:<annotator>`, `coco:…`, `yolo:…`; that reader's earlier boxes are replaced) and the imported
//      boxes become its `reference` — the corrected truth the detector trains and is scored on. Images the
//      files do not label keep their lines as they were;
//   5. lineage.jsonl (per labelled image: file, record, the tool's annotator fields) and report.json are
//      written, then the rows are published in one transaction (datasets/repository.ts), as `data build` does.
import { type Clock, systemClock } from '../../../core/clock.js';
import { describeError, SecondreadError, ValidationError } from '../../../core/errors.js';
import type { Db } from '../../../storage/db.js';
import type { ObjectStore } from '../../../storage/object-store.js';
import { encodeManifest } from '../../datasets/manifest.js';
import { beginBuild, completeBuild, failBuild, findVersion, getVersion, listImages } from '../../datasets/repository.js';
import type { ManifestImage } from '../../datasets/types.js';
import { checkedManifest } from '../../etl/build.js';
import { annotationsKey, manifestKey, reportKey } from '../../etl/naming.js';
import { countBySplitClass, type SplitClassCounts } from '../../etl/report.js';
import { versionIdOf } from '../../etl/version-id.js';
import { lineageKey } from '../../feedback/build.js';
import { type Box, DETECTION_CLASSES, NO_FINDING } from '../types.js';
import { type ExchangeFormat, type ImageLookup, type ImportedLabel, READER_PREFIX, readImportFiles, stemOf } from './read-import.js';

/** Bump when the output for unchanged inputs changes. */
export const IMPORT_ALGORITHM_VERSION = 1;

export interface ImportOptions {
  db: Db;
  objects: ObjectStore;
  /** A ready version (full id). */
  base: string;
  format: ExchangeFormat;
  /** The file or folder the tool wrote. */
  path: string;
  /** Who labelled, for formats that do not say (COCO, YOLO); Label Studio's `completed_by` wins. */
  annotator?: string;
  name?: string;
  clock?: Clock;
}

export interface ImportReport {
  version: string;
  kind: 'import';
  format: ExchangeFormat;
  base: { version: string; images: number };
  files: { path: string; sha256: string }[];
  annotator: string | null;
  images: number;
  /** Images the files label (with at least one box, or with none: `noFinding`). */
  labelled: number;
  noFinding: number;
  /** Labelled images whose reference boxes differ from the base's. */
  changed: number;
  /** Records without a label (Label Studio tasks nobody submitted). */
  unreviewed: number;
  readers: string[];
  /** Reference boxes per class on the labelled images: in the base, and now. */
  boxes: { before: Record<string, number>; after: Record<string, number> };
  counts: SplitClassCounts;
}

export interface ImportResult {
  versionId: string;
  /** False when the version was already ready (nothing was done). */
  built: boolean;
  report: ImportReport;
}

/** One line of datasets/<version>/annotations.jsonl as data/etl/annotations.ts writes it (other keys kept verbatim). */
interface AnnotationLine {
  object_key: string;
  sha256: string;
  width: number;
  height: number;
  source_labels?: string[];
  readers?: string[];
  boxes?: { label: string; reader: string | null; box: number[] }[];
  reference?: { label?: string; class_id: number; box: number[]; readers: string[]; score: number }[];
  [k: string]: unknown;
}

async function readLines(objects: ObjectStore, versionId: string): Promise<Map<string, AnnotationLine>> {
  const key = annotationsKey(versionId);
  const out = new Map<string, AnnotationLine>();
  if (!(await objects.head(key))) return out;
  for (const l of (await objects.getBytes(key)).toString('utf8').split('\n')) {
    if (l.trim() === '') continue;
    const line = JSON.parse(l) as AnnotationLine;
    out.set(line.object_key, line);
  }
  return out;
}

/** Stored images by file name, and by name without extension where that is unambiguous. */
function lookupOf(images: readonly ManifestImage[]): ImageLookup {
  const byName = new Map(images.map((i) => [i.fileName, i]));
  const byStem = new Map<string, ManifestImage | null>();
  for (const i of images) byStem.set(stemOf(i.fileName), byStem.has(stemOf(i.fileName)) ? null : i);
  return (name) => byName.get(name) ?? byStem.get(stemOf(name)) ?? undefined;
}

const round = (v: number) => Math.round(v * 1000) / 1000;
const corners = (b: Box) => [round(b.x0), round(b.y0), round(b.x1), round(b.y1)];

function countByClass(boxes: readonly { class_id: number }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of boxes) out[DETECTION_CLASSES[b.class_id] ?? String(b.class_id)] = (out[DETECTION_CLASSES[b.class_id] ?? String(b.class_id)] ?? 0) + 1;
  return out;
}

function sameReference(a: AnnotationLine['reference'], b: NonNullable<AnnotationLine['reference']>): boolean {
  const key = (r: NonNullable<AnnotationLine['reference']>) =>
    r
      .map((x) => `${x.class_id} ${x.box.join(' ')}`)
      .sort()
      .join('\n');
  return a !== undefined && key(a) === key(b);
}

/** The labelled image's new line: the importer as one more reader, its boxes as the reference. */
function labelledLine(img: ManifestImage, old: AnnotationLine | undefined, label: ImportedLabel, reader: string): AnnotationLine {
  const boxes = label.boxes.map((b) => ({ label: DETECTION_CLASSES[b.classId]!, reader, box: corners(b) }));
  const names = boxes.length ? [...new Set(boxes.map((b) => b.label))] : [NO_FINDING];
  return {
    ...old,
    object_key: img.objectKey,
    sha256: img.sha256,
    width: img.width,
    height: img.height,
    source_labels: [...new Set([...(old?.source_labels ?? []), ...names])],
    readers: [...new Set([...(old?.readers ?? []), reader])],
    boxes: [...(old?.boxes ?? []).filter((b) => b.reader !== reader), ...boxes],
    reference: label.boxes.map((b) => ({ label: DETECTION_CLASSES[b.classId]!, class_id: b.classId, box: corners(b), readers: [reader], score: 1 })),
  };
}

export async function importLabels(o: ImportOptions): Promise<ImportResult> {
  const clock = o.clock ?? systemClock;
  const base = await getVersion(o.db, o.base);
  if (base.status !== 'ready') throw new SecondreadError('invalid_input', `base version '${base.id}' is ${base.status}, not ready`, 400);
  const images = await listImages(o.db, base.id);

  // 2. read and check everything first
  const read = await readImportFiles(o.format, o.path, lookupOf(images), { annotator: o.annotator });
  if (read.labels.length === 0)
    throw new ValidationError(`${o.path}: nothing to import: no labelled image (${read.unreviewed.length} records without a submitted annotation)`);

  // 3. identity
  const annotator = o.annotator ?? null;
  const inputs = { kind: 'import', import: IMPORT_ALGORITHM_VERSION, base: base.id, format: o.format, files: read.files, annotator };
  const id = versionIdOf(inputs);
  const existing = await findVersion(o.db, id);
  if (existing?.status === 'ready') return { versionId: id, built: false, report: existing.report as unknown as ImportReport };

  await beginBuild(o.db, { id, name: o.name ?? `import ${o.format} ${clock.now().toISOString().slice(0, 10)}`, inputs, now: clock.now().toISOString() });
  try {
    // 4. the base's images and splits; annotations merged
    const manifest = checkedManifest(images);
    const lines = await readLines(o.objects, base.id);
    const byKey = new Map(manifest.map((i) => [i.objectKey, i]));
    const labelOf = new Map(read.labels.map((l) => [l.objectKey, l]));
    const readers = new Set<string>();
    const before: { class_id: number }[] = [];
    const after: { class_id: number }[] = [];
    let changed = 0;
    const out: string[] = [];
    const lineage: string[] = [];
    for (const img of manifest) {
      const old = lines.get(img.objectKey);
      const label = labelOf.get(img.objectKey);
      if (!label) {
        if (old) out.push(JSON.stringify(old));
        continue;
      }
      const reader = `${READER_PREFIX[o.format]}:${label.annotator ?? 'unknown'}`;
      readers.add(reader);
      const line = labelledLine(byKey.get(img.objectKey)!, old, label, reader);
      before.push(...(old?.reference ?? []));
      after.push(...line.reference!);
      if (!sameReference(old?.reference, line.reference!)) changed += 1;
      out.push(JSON.stringify(line));
      lineage.push(
        JSON.stringify({
          object_key: img.objectKey,
          sha256: img.sha256,
          format: o.format,
          file: label.source.file,
          record: label.source.record,
          reader,
          annotator: label.annotator,
          fields: label.source.fields,
          boxes: label.boxes.length,
        }),
      );
    }
    const report: ImportReport = {
      version: id,
      kind: 'import',
      format: o.format,
      base: { version: base.id, images: images.length },
      files: read.files,
      annotator,
      images: manifest.length,
      labelled: read.labels.length,
      noFinding: read.labels.filter((l) => l.boxes.length === 0).length,
      changed,
      unreviewed: read.unreviewed.length,
      readers: [...readers].sort(),
      boxes: { before: countByClass(before), after: countByClass(after) },
      counts: countBySplitClass(manifest),
    };
    // 5. write, then publish
    await o.objects.put(manifestKey(id), encodeManifest(manifest), { contentType: 'application/x-ndjson' });
    await o.objects.put(annotationsKey(id), out.map((l) => `${l}\n`).join(''), { contentType: 'application/x-ndjson' });
    await o.objects.put(lineageKey(id), lineage.map((l) => `${l}\n`).join(''), { contentType: 'application/x-ndjson' });
    await o.objects.put(reportKey(id), `${JSON.stringify(report, null, 2)}\n`, { contentType: 'application/json' });
    await completeBuild(o.db, id, manifest, report, clock.now().toISOString());
    return { versionId: id, built: true, report };
  } catch (err) {
    await failBuild(o.db, id, describeError(err)).catch(() => undefined);
    throw err;
  }
}
