// `data build`: archives + config → an immutable dataset version.
//
// Protocol (interruption-safe; docs/datasets.md):
//   1. hash every archive; id = hash(canonical config + archive sha256s). A ready version with that id
//      means there is nothing to do: return it (a rerun is a no-op).
//   2. record the version as `building` (an earlier interrupted or failed attempt is reset);
//   3. scan: stream archives, dedupe, decode-check, upload images under datasets/<id>/… — keys are
//      deterministic, so objects an interrupted run already wrote are found by head() and kept;
//   4. split (patient-grouped, stratified, seeded) and ASSERT no patient or image spans two splits;
//   5. remove objects under the version's prefix that this run did not produce (none, unless the
//      store holds debris), write manifest.jsonl and report.json;
//   6. in ONE transaction: delete any rows of the version, insert the manifest rows, mark `ready`.
// A crash anywhere before 6 leaves a `building` row that the next run resets; after 6 the version
// is complete. Two concurrent builds of the same version are not supported.
import { stat } from 'node:fs/promises';

import { type Clock, systemClock } from '../../core/clock.js';
import { describeError, SecondreadError } from '../../core/errors.js';
import type { ProgressFn } from '../../core/progress.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { encodeManifest } from '../datasets/manifest.js';
import { beginBuild, completeBuild, failBuild, findVersion } from '../datasets/repository.js';
import type { DatasetVersion, ManifestImage } from '../datasets/types.js';
import { findLeaks } from '../validate/leakage.js';
import { encodeAnnotations } from './annotations.js';
import type { DatasetConfig } from './config.js';
import type { DatasetDicomSettings } from './dicom-ingest.js';
import { hashFolder, listFolder } from './folder.js';
import { annotationsKey, datasetPrefix, manifestKey, reportKey } from './naming.js';
import { type BuildReport, buildReport } from './report.js';
import { type ScannedImage, scanSources } from './scan.js';
import { assignSplits } from './split.js';
import { sha256File, versionIdOf, versionInputs } from './version-id.js';

export interface BuildOptions {
  db: Db;
  objects: ObjectStore;
  config: DatasetConfig;
  onProgress?: ProgressFn;
  /** Decode-checks in flight (default 3). */
  concurrency?: number;
  /** Uploads in flight (default 8). */
  uploadConcurrency?: number;
  clock?: Clock;
  /** De-identification of DICOM entries (data/etl/dicom-ingest.ts); required when an archive holds DICOM. */
  dicom?: DatasetDicomSettings;
}

export interface BuildResult {
  versionId: string;
  /** False when the version was already ready (nothing was done). */
  built: boolean;
  version: DatasetVersion;
  report: BuildReport;
}

/** The version id a config would build, without building (hashes the archives). */
export async function computeVersionId(
  config: DatasetConfig,
  onProgress?: ProgressFn,
): Promise<{ id: string; inputs: Record<string, unknown>; sha256: string[]; sizes: number[] }> {
  // A folder's size is known once it is listed; its share of the progress is estimated from the listing.
  const sizes = await Promise.all(
    config.sources.map(async (s) => (s.format === 'dir' ? (await listFolder(s.archivePath, config.limits)).files : [await stat(s.archivePath)])),
  ).then((lists) => lists.map((files) => files.reduce((n, f) => n + f.size, 0)));
  const total = sizes.reduce((a, b) => a + b, 0);
  const sha256: string[] = [];
  let before = 0;
  for (const [i, s] of config.sources.entries()) {
    const onBytes = (n: number) => onProgress?.({ phase: 'hash', done: Math.floor((100 * (before + n)) / Math.max(total, 1)), total: 100 });
    sha256.push(s.format === 'dir' ? (await hashFolder(s.archivePath, s.isExcluded, config.limits, onBytes)).sha256 : await sha256File(s.archivePath, onBytes));
    before += sizes[i]!;
  }
  onProgress?.({ phase: 'hash', done: 100, total: 100 });
  const inputs = versionInputs(config, sha256);
  return { id: versionIdOf(inputs), inputs, sha256, sizes };
}

export async function buildDataset(opts: BuildOptions): Promise<BuildResult> {
  const clock = opts.clock ?? systemClock;
  const t0 = Date.now();
  const { id, inputs, sha256, sizes } = await computeVersionId(opts.config, opts.onProgress);
  const timingsMs: Record<string, number> = { hash: Date.now() - t0 };

  const existing = await findVersion(opts.db, id);
  if (existing?.status === 'ready') {
    return { versionId: id, built: false, version: existing, report: existing.report as unknown as BuildReport };
  }
  await beginBuild(opts.db, { id, name: opts.config.name ?? null, inputs, now: clock.now().toISOString() });
  try {
    let t = Date.now();
    const scan = await scanSources({
      versionId: id,
      config: opts.config,
      archiveSha256: sha256,
      archiveSizes: sizes,
      objects: opts.objects,
      concurrency: opts.concurrency ?? 3,
      uploadConcurrency: opts.uploadConcurrency ?? 8,
      onProgress: opts.onProgress,
      dicom: opts.dicom,
    });
    timingsMs.scan = Date.now() - t;

    t = Date.now();
    const images = splitImages(scan.images, opts.config);
    timingsMs.split = Date.now() - t;

    t = Date.now();
    const removed = await removeStrayObjects(opts.objects, id, new Set([...images.map((i) => i.objectKey), ...scan.quarantined.map((q) => q.objectKey)]));
    const report = buildReport({ version: id, name: opts.config.name ?? null, scan, images, removed, timingsMs: { ...timingsMs } });
    await opts.objects.put(manifestKey(id), encodeManifest(images), { contentType: 'application/x-ndjson' });
    if (scan.annotations.size > 0)
      await opts.objects.put(annotationsKey(id), encodeAnnotations(images, scan.annotations, opts.config.detection?.fusion), {
        contentType: 'application/x-ndjson',
      });
    await opts.objects.put(reportKey(id), `${JSON.stringify(report, null, 2)}\n`, { contentType: 'application/json' });
    opts.onProgress?.({ phase: 'publish', done: 0, total: images.length });
    await completeBuild(opts.db, id, images, report, clock.now().toISOString());
    opts.onProgress?.({ phase: 'publish', done: images.length, total: images.length });
    timingsMs.publish = Date.now() - t;
    timingsMs.total = Date.now() - t0;
    const version = (await findVersion(opts.db, id))!;
    return { versionId: id, built: true, version, report: { ...report, timingsMs } };
  } catch (err) {
    await failBuild(opts.db, id, describeError(err)).catch(() => undefined);
    throw err;
  }
}

/** Assigns splits and asserts the invariants the whole platform relies on. */
export function splitImages(scanned: readonly ScannedImage[], config: Pick<DatasetConfig, 'split' | 'seed'>): ManifestImage[] {
  const assignment = assignSplits(scanned, config.split, config.seed);
  return checkedManifest(
    scanned.map((s): ManifestImage => {
      const a = assignment.get(s.sha256);
      if (!a) throw new SecondreadError('split_invariant', `internal error: image ${s.sha256} received no split`);
      return { ...s, split: a.split, finalEval: a.finalEval };
    }),
  );
}

/** A manifest in object-key order, refused (500) when a patient or an image spans two splits or final_eval touches train. */
export function checkedManifest(images: readonly ManifestImage[]): ManifestImage[] {
  const sorted = [...images].sort((a, b) => (a.objectKey < b.objectKey ? -1 : a.objectKey > b.objectKey ? 1 : 0));
  const leaks = findLeaks(sorted);
  if (leaks.length > 0) {
    throw new SecondreadError(
      'split_invariant',
      `internal error: the split leaks (${leaks.length} violations, first: ${leaks[0]!.kind} ${leaks[0]!.key})`,
      500,
      { leaks: leaks.slice(0, 20) },
    );
  }
  return sorted;
}

/** Deletes objects under the version's prefix that are not part of it (debris of an earlier, different run). */
async function removeStrayObjects(objects: ObjectStore, id: string, keep: Set<string>): Promise<number> {
  const fixed = new Set([manifestKey(id), reportKey(id), annotationsKey(id)]);
  const stray: string[] = [];
  for await (const o of objects.list(datasetPrefix(id))) if (!keep.has(o.key) && !fixed.has(o.key)) stray.push(o.key);
  for (const key of stray) await objects.delete(key);
  return stray.length;
}
