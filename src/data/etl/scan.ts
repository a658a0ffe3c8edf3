// The scan phase of a build: stream every source archive (or folder) once; for each entry a class rule
// selects — or, for a sheet-labelled source, each image its labels sheet gives a class (the sheets are
// read first, in a pass that reads nothing else) — hash it, drop exact duplicates, decode-check it, and
// upload it under its version key. Corrupt images (and, for sources with patient ids, files whose name
// carries none) are quarantined and reported; the run goes on. Decode-checks and uploads run in a
// small pool (see TaskPool).
import { basename } from 'node:path';

import { ConfigError, InvalidImageError, ValidationError } from '../../core/errors.js';
import { sha256Hex } from '../../core/ids.js';
import type { ProgressFn } from '../../core/progress.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { type ArchiveSummary, type ArchiveVisitor, readArchive } from '../archive/index.js';
import type { SecondreadClass } from '../classes.js';
import type { ManifestImage } from '../datasets/types.js';
import { DicomError } from '../dicom/errors.js';
import { decodeGrayscale, isDicom } from '../images/decode.js';
import { intensityStats } from '../images/intensity.js';
import { type DatasetConfig, matchClass, patientKeyOf, type SourceConfig } from './config.js';
import { type DatasetDicomSettings, deidentifyForDataset } from './dicom-ingest.js';
import { readFolder } from './folder.js';
import { decideClass, imageIdOf, type LabelBox, type LabelSheets, readLabelSheets } from './labels.js';
import { disambiguate, imageFileName, imageKey, quarantineKey } from './naming.js';
import { TaskPool } from './pool.js';
import { contentTypeOf, putIfAbsent, type UploadCounts } from './upload.js';

/** An accepted image, before the split is known. */
export type ScannedImage = Omit<ManifestImage, 'split' | 'finalEval'>;

export interface DuplicateEntry {
  sha256: string;
  kept: { dataset: string; entry: string; class: SecondreadClass };
  dropped: { dataset: string; entry: string; class: SecondreadClass };
}

export interface QuarantinedEntry {
  dataset: string;
  entry: string;
  reason: string;
  objectKey: string;
}

export interface ArchiveScan extends ArchiveSummary {
  dataset: string;
  archive: string;
  sha256: string;
  sizeBytes: number;
}

/** The sheet's labels and boxes of one stored image (datasets/<version>/annotations.jsonl). */
export interface ImageAnnotation {
  labels: string[];
  /** The readers with a row for the image, sorted (VinDr rad_id; empty for RSNA). */
  readers: string[];
  boxes: LabelBox[];
}

/** What a labels sheet did to a source (the build report shows it). */
export interface LabelsScan {
  dataset: string;
  layout: string;
  /** Data rows of the labels sheet, and the image ids it names. */
  rows: number;
  labelledIds: number;
  /** Image files the sheet gives a class (selected), or names without a class rule (excluded, by reason). */
  selected: number;
  excluded: { count: number; reasons: { reason: string; count: number }[] };
  /** Image files the sheet does not name (ignored), and ids the sheet names with no image file. */
  unlabelledFiles: number;
  missingFiles: number;
  /** Boxes kept for the stored images, and how many of them reach outside their image. */
  boxes: number;
  boxesOutsideImage: number;
}

export interface ScanResult {
  images: ScannedImage[];
  duplicates: DuplicateEntry[];
  quarantined: QuarantinedEntry[];
  archives: ArchiveScan[];
  uploads: UploadCounts;
  labels: LabelsScan[];
  /** By object key, for images of sheet-labelled sources. */
  annotations: Map<string, ImageAnnotation>;
}

export interface ScanOptions {
  versionId: string;
  config: DatasetConfig;
  archiveSha256: readonly string[];
  archiveSizes: readonly number[];
  objects: ObjectStore;
  /** Decode-checks in flight (CPU-bound: about the core count). */
  concurrency: number;
  /** Uploads in flight (I/O-bound: a filesystem store fsyncs every object, S3 waits on the network). */
  uploadConcurrency: number;
  onProgress?: ProgressFn;
  /** De-identification of DICOM entries; without it a DICOM entry fails the build (nothing is stored). */
  dicom?: DatasetDicomSettings;
}

export async function scanSources(opts: ScanOptions): Promise<ScanResult> {
  const result: ScanResult = {
    images: [],
    duplicates: [],
    quarantined: [],
    archives: [],
    uploads: { uploaded: 0, reused: 0 },
    labels: [],
    annotations: new Map(),
  };
  const firstSeen = new Map<string, { dataset: string; entry: string; class: SecondreadClass }>();
  const claimedNames = new Map<string, string>(); // `${class}/${fileName}` → sha256
  const pool = new TaskPool(opts.concurrency);
  const uploads = new TaskPool(opts.uploadConcurrency);
  const started = Date.now();
  let processed = 0;

  for (const [si, source] of opts.config.sources.entries()) {
    const archive = basename(source.archivePath);
    const archiveSha256 = opts.archiveSha256[si]!;
    const size = opts.archiveSizes[si]!;
    let lastReport = 0;
    const report = (position: number, force = false) => {
      const now = Date.now();
      if (!force && now - lastReport < 200) return;
      lastReport = now;
      const rate = processed / Math.max((now - started) / 1000, 1e-3);
      opts.onProgress?.({
        phase: `scan ${source.dataset}`,
        done: Math.min(100, Math.floor((100 * position) / Math.max(size, 1))),
        total: 100,
        info: { images: result.images.length, 'img/s': Math.round(rate) },
      });
    };

    const read = (visitor: ArchiveVisitor) =>
      source.format === 'dir'
        ? readFolder(source.archivePath, visitor, opts.config.limits)
        : readArchive(source.archivePath, { format: source.format, limits: opts.config.limits, name: archive, ...visitor });
    const labelled = source.labels ? await labelledSelector(source, read) : undefined;
    const claim = labelled ? labelled.claim : (path: string) => matchClass(source, path);

    const summary = await read({
      select: (path) => claim(path) !== undefined,
      onPosition: (p) => report(p),
      onFile: async ({ path, data }) => {
        const rule = claim(path)!;
        const sha256 = sha256Hex(data);
        const seen = firstSeen.get(sha256);
        if (seen) {
          result.duplicates.push({ sha256, kept: seen, dropped: { dataset: source.dataset, entry: path, class: rule.class } });
          return;
        }
        firstSeen.set(sha256, { dataset: source.dataset, entry: path, class: rule.class });
        const fileName = claimName(claimedNames, rule.class, imageFileName(source.dataset, rule.class, path), sha256);
        const base = {
          sha256,
          fileName,
          dataset: source.dataset,
          sourceArchive: archive,
          archiveSha256,
          entryPath: path,
          sourceClass: rule.source,
          class: rule.class,
        };
        const annotation = labelled?.annotation(path);
        await pool.run(async () => {
          await processImage(opts, source, base, data, result, uploads, annotation && { annotation, stats: labelled!.stats });
          processed += 1;
        });
      },
    }).catch(async (err: unknown) => {
      await pool.settle(); // no task may outlive the failed scan
      await uploads.settle();
      throw err;
    });
    await pool.drain().catch(async (err: unknown) => {
      await uploads.settle();
      throw err;
    });
    await uploads.drain();
    report(size, true);
    if (labelled) {
      const l = labelled.finish();
      result.labels.push(l);
      if (summary.selected === 0) {
        throw new ValidationError(
          `dataset '${source.dataset}': no image file got a class from the labels sheet (images pattern ${source.labels!.images}: ${l.unlabelledFiles} files the sheet does not name, ${l.excluded.count} left out by the class rules${l.excluded.reasons[0] ? `, e.g. ${l.excluded.reasons[0].reason}` : ''}; ${l.missingFiles} ids of the sheet without a file)`,
          { dataset: source.dataset, archive },
        );
      }
    } else if (summary.selected === 0) {
      throw new ValidationError(
        `dataset '${source.dataset}': no entry of '${archive}' matched its class rules (${source.classes.map((r) => r.pattern).join(', ')}); ${summary.files} files were ignored`,
        { dataset: source.dataset, archive },
      );
    }
    result.archives.push({ dataset: source.dataset, archive, sha256: archiveSha256, sizeBytes: size, ...summary });
  }
  return result;
}

/** The object name for an image; a second, different image with the same name gets a hash suffix. */
function claimName(claimed: Map<string, string>, cls: SecondreadClass, fileName: string, sha256: string): string {
  const owner = claimed.get(`${cls}/${fileName}`);
  const name = owner === undefined || owner === sha256 ? fileName : disambiguate(fileName, sha256);
  claimed.set(`${cls}/${name}`, sha256);
  return name;
}

type ImageBase = Pick<ScannedImage, 'sha256' | 'fileName' | 'dataset' | 'sourceArchive' | 'archiveSha256' | 'entryPath' | 'sourceClass' | 'class'>;

/** Decode-checks one image, then hands its upload to the upload pool (freeing the decode slot). */
async function processImage(
  opts: ScanOptions,
  source: SourceConfig,
  base: ImageBase,
  data: Buffer,
  result: ScanResult,
  uploads: TaskPool,
  labelled?: { annotation: ImageAnnotation; stats: LabelsScan },
): Promise<void> {
  let dicomPatientKey: string | null | undefined;
  if (isDicom(data)) {
    if (!opts.dicom)
      throw new ConfigError("the archive holds DICOM files: building needs the de-identification key (SECONDREAD_DEID_KEY, or the home's deid.key)");
    const d = deidentifyForDataset(data, opts.dicom);
    if (d.kind === 'refused') {
      // Only a note is stored: the file itself may carry PHI that could not be removed.
      const objectKey = quarantineKey(opts.versionId, `${base.sha256.slice(0, 12)}-refused.txt`);
      await uploads.run(async () => {
        await putIfAbsent(opts.objects, objectKey, Buffer.from(`${d.reason}\n`), 'text/plain', result.uploads);
        result.quarantined.push({ dataset: base.dataset, entry: base.entryPath, reason: d.reason, objectKey });
      });
      return;
    }
    data = d.bytes;
    base = { ...base, sha256: d.sha256, fileName: d.fileName };
    dicomPatientKey = d.patientKey; // null when the file names no patient: the image is its own group
  }
  const quarantine = async (reason: string) => {
    const objectKey = quarantineKey(opts.versionId, `${base.sha256.slice(0, 12)}-${base.fileName}`);
    await uploads.run(async () => {
      await putIfAbsent(opts.objects, objectKey, data, 'application/octet-stream', result.uploads);
      result.quarantined.push({ dataset: base.dataset, entry: base.entryPath, reason, objectKey });
    });
  };
  const patientKey = patientKeyOf(source, base.entryPath);
  if (patientKey === null) {
    await quarantine(`file name does not match the patient-id pattern ${source.patient!.pattern}`);
    return;
  }
  let decoded;
  try {
    decoded = await decodeGrayscale(data);
  } catch (err) {
    if (!(err instanceof InvalidImageError) && !(err instanceof DicomError)) throw err;
    await quarantine(err.message);
    return;
  }
  const stats = intensityStats(decoded.data);
  const objectKey = imageKey(opts.versionId, base.class, base.fileName);
  const image: ScannedImage = {
    ...base,
    objectKey,
    patientKey: patientKey ?? dicomPatientKey ?? null,
    width: decoded.width,
    height: decoded.height,
    bytes: data.length,
    format: decoded.header.format,
    bitDepth: decoded.header.bitDepth,
    meanIntensity: stats.mean,
    stdIntensity: stats.std,
  };
  await uploads.run(async () => {
    await putIfAbsent(opts.objects, objectKey, data, contentTypeOf(image.format), result.uploads);
    result.images.push(image); // recorded only once its object is stored
    if (labelled) {
      const { annotation, stats } = labelled;
      result.annotations.set(objectKey, annotation);
      stats.boxes += annotation.boxes.length;
      stats.boxesOutsideImage += annotation.boxes.filter(({ box: [x0, y0, x1, y1] }) => x0 < 0 || y0 < 0 || x1 > image.width || y1 > image.height).length;
    }
  });
}

/**
 * For a sheet-labelled source: reads its sheets (a first pass that selects only them), then decides
 * each image file's class from its labels as the main pass offers it (`claim`), counting what is left
 * out and why.
 */
async function labelledSelector(source: SourceConfig, read: (v: ArchiveVisitor) => Promise<ArchiveSummary>) {
  const l = source.labels!;
  const sheets: { csv: { name: string; text: string }[]; info: { name: string; text: string }[] } = { csv: [], info: [] };
  await read({
    select: (path) => !source.isExcluded(path) && (l.isCsv(path) || l.isClassInfo(path)),
    onFile: async ({ path, data }) => {
      (l.isCsv(path) ? sheets.csv : sheets.info).push({ name: path, text: data.toString('utf8') });
    },
  });
  const one = (found: { name: string; text: string }[], what: string, glob: string) => {
    if (found.length !== 1)
      throw new ValidationError(
        `dataset '${source.dataset}': ${found.length === 0 ? 'no entry' : `${found.length} entries (${found.map((f) => f.name).join(', ')})`} matched the ${what} pattern '${glob}'; exactly one is needed`,
        { dataset: source.dataset },
      );
    return found[0]!;
  };
  const main = one(sheets.csv, 'labels sheet', l.csv);
  const info = l.classInfo === undefined ? undefined : one(sheets.info, 'class_info sheet', l.classInfo);
  const parsed: LabelSheets = readLabelSheets(l.layout, main, info);

  const stats: LabelsScan = {
    dataset: source.dataset,
    layout: l.layout,
    rows: parsed.rows,
    labelledIds: parsed.byImage.size,
    selected: 0,
    excluded: { count: 0, reasons: [] },
    unlabelledFiles: 0,
    missingFiles: 0,
    boxes: 0,
    boxesOutsideImage: 0,
  };
  const reasons = new Map<string, number>();
  type Claim = { class: SecondreadClass; source: string; annotation: ImageAnnotation };
  // The readers ask once per entry (select), then onFile asks again for the same path: decide once.
  const decisions = new Map<string, Claim | null>();
  const seenIds = new Set<string>();
  const decide = (path: string): Claim | null => {
    const id = imageIdOf(path);
    const labels = parsed.byImage.get(id);
    if (!labels) {
      stats.unlabelledFiles += 1;
      return null;
    }
    seenIds.add(id);
    const d = decideClass(l.layout, labels, l.rules);
    if (d.kind === 'excluded') {
      stats.excluded.count += 1;
      reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + 1);
      return null;
    }
    stats.selected += 1;
    return { class: d.class, source: d.source, annotation: { labels: [...labels.labels].sort(), readers: [...labels.readers].sort(), boxes: labels.boxes } };
  };
  const claimOf = (path: string): Claim | undefined => {
    if (source.isExcluded(path) || !l.isImage(path)) return undefined;
    if (!decisions.has(path)) decisions.set(path, decide(path));
    return decisions.get(path) ?? undefined;
  };
  return {
    stats,
    claim: claimOf,
    annotation: (path: string) => claimOf(path)?.annotation,
    finish(): LabelsScan {
      stats.missingFiles = [...parsed.byImage.keys()].filter((id) => !seenIds.has(id)).length;
      stats.excluded.reasons = [...reasons]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1))
        .slice(0, 20);
      return stats;
    },
  };
}
