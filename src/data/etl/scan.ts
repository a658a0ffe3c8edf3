// The scan phase of a build: stream every source archive once; for each entry a class rule selects,
// hash it, drop exact duplicates, decode-check it, and upload it under its version key. Corrupt
// images (and, for sources with patient ids, files whose name carries none) are quarantined and
// reported; the run goes on. Decode-checks and uploads run in a small pool (see TaskPool).
import { basename } from 'node:path';

import { ConfigError, InvalidImageError, ValidationError } from '../../core/errors.js';
import { sha256Hex } from '../../core/ids.js';
import type { ProgressFn } from '../../core/progress.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { type ArchiveSummary, readArchive } from '../archive/index.js';
import type { SecondreadClass } from '../classes.js';
import type { ManifestImage } from '../datasets/types.js';
import { DicomError } from '../dicom/errors.js';
import { decodeGrayscale, isDicom } from '../images/decode.js';
import { intensityStats } from '../images/intensity.js';
import { type DatasetConfig, matchClass, patientKeyOf, type SourceConfig } from './config.js';
import { type DatasetDicomSettings, deidentifyForDataset } from './dicom-ingest.js';
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

export interface ScanResult {
  images: ScannedImage[];
  duplicates: DuplicateEntry[];
  quarantined: QuarantinedEntry[];
  archives: ArchiveScan[];
  uploads: UploadCounts;
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
  const result: ScanResult = { images: [], duplicates: [], quarantined: [], archives: [], uploads: { uploaded: 0, reused: 0 } };
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

    const summary = await readArchive(source.archivePath, {
      format: source.format,
      limits: opts.config.limits,
      name: archive,
      select: (path) => matchClass(source, path) !== undefined,
      onPosition: (p) => report(p),
      onFile: async ({ path, data }) => {
        const rule = matchClass(source, path)!;
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
        await pool.run(async () => {
          await processImage(opts, source, base, data, result, uploads);
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
    if (summary.selected === 0) {
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
async function processImage(opts: ScanOptions, source: SourceConfig, base: ImageBase, data: Buffer, result: ScanResult, uploads: TaskPool): Promise<void> {
  let dicomPatientKey: string | undefined;
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
    dicomPatientKey = d.patientKey;
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
  });
}
