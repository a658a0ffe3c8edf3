// `data feedback`: finalized studies → an immutable dataset version (docs/datasets.md, "Feedback datasets").
//
//   1. read each study's image from the object store, hash it, decode-check it (undecodable: left out, reported);
//   2. dedupe by sha256: within the studies (two studies of one image with different final labels: both left
//      out as a label conflict), then against the base version — or, without a base, every earlier feedback
//      version;
//   3. nothing new → NoNewLabelsError (no empty version is made);
//   4. id = hash(base, seed, split, the surviving studies' ids, sha256s, labels and labellers): the same inputs
//      give the same id, and a ready version with it is returned untouched;
//   5. split patient-aware: a patient already in the base keeps the base's split; the others are split like an
//      ETL build (patient-grouped, class-stratified, seeded, final_eval flagged in val/test);
//   6. store the images under datasets/<id>/images/…, write manifest.jsonl, lineage.jsonl and report.json
//      (and annotations.jsonl when reader B confirmed detector boxes: they become the images' box labels),
//      then publish the rows (base rows keep their object keys: versions are immutable, so sharing is safe).
import { type Clock, systemClock } from '../../core/clock.js';
import { describeError, InvalidImageError, SecondreadError } from '../../core/errors.js';
import { sha256Hex } from '../../core/ids.js';
import type { ProgressFn } from '../../core/progress.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { encodeManifest } from '../datasets/manifest.js';
import { beginBuild, completeBuild, failBuild, findVersion, getVersion, listImages } from '../datasets/repository.js';
import type { ManifestImage, Split } from '../datasets/types.js';
import { detectionClassId } from '../detection/types.js';
import { DicomError } from '../dicom/errors.js';
import { type AnnotationInput, encodeAnnotations } from '../etl/annotations.js';
import { checkedManifest, splitImages } from '../etl/build.js';
import { DEFAULT_SPLIT, type SplitRatios } from '../etl/config.js';
import { annotationsKey, datasetPrefix, imageKey, manifestKey, reportKey } from '../etl/naming.js';
import { countBySplitClass, type SplitClassCounts } from '../etl/report.js';
import { contentTypeOf, putIfAbsent } from '../etl/upload.js';
import { versionIdOf } from '../etl/version-id.js';
import { decodeGrayscale } from '../images/decode.js';
import { intensityStats } from '../images/intensity.js';
import type { BoxLabel, FeedbackLineage, FeedbackStudy, LabelledBy } from './types.js';

/** Bump when the output for unchanged inputs changes (naming, split rule, dedupe rule). */
export const FEEDBACK_ALGORITHM_VERSION = 1;
/** The `dataset` of every feedback image (its file names start with it; `data ls` shows the kind). */
export const FEEDBACK_DATASET = 'feedback';

export const lineageKey = (version: string) => `${datasetPrefix(version)}lineage.jsonl`;

export class NoNewLabelsError extends SecondreadError {
  constructor(message: string, details: Record<string, unknown>) {
    super('no_new_labels', message, 409, details);
  }
}

export interface FeedbackBuildOptions {
  db: Db;
  objects: ObjectStore;
  /** Finalized studies, in the order they were finalized (workflow/feedback.ts). */
  studies: readonly FeedbackStudy[];
  /** A ready version (full id) merged in: its images keep their splits, its patients theirs. */
  base?: string;
  /** What selected the studies (recorded, not used): e.g. `{ since, includeAutoFinalized }`. */
  selection?: Record<string, unknown>;
  seed?: number;
  split?: SplitRatios;
  name?: string;
  clock?: Clock;
  onProgress?: ProgressFn;
}

export interface FeedbackReport {
  version: string;
  kind: 'feedback';
  selection: Record<string, unknown>;
  base: { version: string; images: number } | null;
  studies: number;
  /** New images in the version (not counting the base's). */
  added: number;
  images: number;
  labelledBy: Record<LabelledBy, number>;
  duplicates: { withinStudies: number; inBase: number; inEarlierVersions: Record<string, number> };
  conflicts: { sha256: string; studies: string[]; labels: string[] }[];
  undecodable: { studyId: string; reason: string }[];
  /** Patients of new images already in the base, who kept the base's split. */
  patientsFromBase: number;
  counts: SplitClassCounts;
  finalEval: number;
}

export interface FeedbackBuildResult {
  versionId: string;
  /** False when the version was already ready (nothing was done). */
  built: boolean;
  report: FeedbackReport;
}

interface Candidate {
  study: FeedbackStudy;
  bytes: Buffer;
  image: Omit<ManifestImage, 'split' | 'finalEval' | 'objectKey'>;
}

/** Reads, hashes and decode-checks one study image; a reason string when it cannot be used. */
async function readStudyImage(objects: ObjectStore, s: FeedbackStudy): Promise<Candidate | string> {
  const bytes = await objects.getBytes(s.imageKey);
  let decoded;
  try {
    decoded = await decodeGrayscale(bytes);
  } catch (err) {
    if (err instanceof InvalidImageError || err instanceof DicomError) return err.message;
    throw err;
  }
  const stats = intensityStats(decoded.data);
  const ext = decoded.header.format === 'jpeg' ? 'jpeg' : decoded.header.format === 'dicom' ? 'dcm' : 'png';
  return {
    study: s,
    bytes,
    image: {
      sha256: sha256Hex(bytes),
      // The study id names the file: unique, and it leads back to the study (and its audit trail).
      fileName: `${FEEDBACK_DATASET}-${s.finalLabel}-${s.studyId}.${ext}`,
      dataset: FEEDBACK_DATASET,
      sourceArchive: 'studies',
      archiveSha256: '',
      entryPath: s.imageKey,
      sourceClass: s.labelledBy,
      class: s.finalLabel,
      patientKey: s.patientKey,
      width: decoded.width,
      height: decoded.height,
      bytes: bytes.length,
      format: decoded.header.format,
      bitDepth: decoded.header.bitDepth,
      meanIntensity: stats.mean,
      stdIntensity: stats.std,
    },
  };
}

/** sha256 → the earliest ready feedback version holding it. */
async function earlierFeedbackImages(db: Db): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('dataset_images')
    .innerJoin('dataset_versions', 'dataset_versions.id', 'dataset_images.version_id')
    .select(['dataset_images.sha256', 'dataset_images.version_id', 'dataset_versions.created_at'])
    .where('dataset_images.dataset', '=', FEEDBACK_DATASET)
    .where('dataset_versions.status', '=', 'ready')
    .orderBy('dataset_versions.created_at')
    .execute();
  const out = new Map<string, string>();
  for (const r of rows) if (!out.has(r.sha256)) out.set(r.sha256, r.version_id);
  return out;
}

export async function buildFeedbackVersion(o: FeedbackBuildOptions): Promise<FeedbackBuildResult> {
  const clock = o.clock ?? systemClock;
  const split = o.split ?? DEFAULT_SPLIT;
  const seed = o.seed ?? 42;
  const base = o.base ? await getVersion(o.db, o.base) : undefined;
  if (base && base.status !== 'ready') throw new SecondreadError('invalid_input', `base version '${base.id}' is ${base.status}, not ready`, 400);
  const baseImages = base ? await listImages(o.db, base.id) : [];

  // 1. read and check every study image
  const undecodable: FeedbackReport['undecodable'] = [];
  const bySha = new Map<string, Candidate[]>();
  let done = 0;
  for (const s of o.studies) {
    const c = await readStudyImage(o.objects, s);
    o.onProgress?.({ phase: 'read', done: ++done, total: o.studies.length });
    if (typeof c === 'string') {
      undecodable.push({ studyId: s.studyId, reason: c });
      continue;
    }
    bySha.set(c.image.sha256, [...(bySha.get(c.image.sha256) ?? []), c]);
  }

  // 2. dedupe: within the studies, then against the base and earlier feedback versions
  const conflicts: FeedbackReport['conflicts'] = [];
  let withinStudies = 0;
  const unique: Candidate[] = [];
  for (const [sha256, group] of bySha) {
    const labels = [...new Set(group.map((c) => c.study.finalLabel))];
    if (labels.length > 1) {
      conflicts.push({ sha256, studies: group.map((c) => c.study.studyId), labels });
      continue;
    }
    withinStudies += group.length - 1;
    unique.push(group[0]!);
  }
  // With a base, the base is the earlier version (earlier feedback merged into it is in it; feedback that was
  // never merged, e.g. a rejected candidate's, is not, and its labels are offered again). Without one, each
  // version holds what no earlier feedback version holds: versions are increments.
  const inBaseSha = new Set(baseImages.map((i) => i.sha256));
  const earlier = base ? new Map<string, string>() : await earlierFeedbackImages(o.db);
  const inEarlierVersions: Record<string, number> = {};
  let inBase = 0;
  const fresh = unique.filter((c) => {
    if (inBaseSha.has(c.image.sha256)) {
      inBase += 1;
      return false;
    }
    const v = earlier.get(c.image.sha256);
    if (v !== undefined) {
      inEarlierVersions[v] = (inEarlierVersions[v] ?? 0) + 1;
      return false;
    }
    return true;
  });
  const duplicates = { withinStudies, inBase, inEarlierVersions };

  // 3. nothing new
  if (fresh.length === 0) {
    throw new NoNewLabelsError(
      `no new labelled images: ${o.studies.length} finalized studies, ${undecodable.length} undecodable, ${conflicts.length} label conflicts, ` +
        `${withinStudies} repeated, ${inBase} already in the base, ${Object.values(inEarlierVersions).reduce((a, b) => a + b, 0)} already in earlier feedback versions`,
      { studies: o.studies.length, duplicates },
    );
  }

  // 4. identity
  fresh.sort((a, b) => (a.study.studyId < b.study.studyId ? -1 : a.study.studyId > b.study.studyId ? 1 : 0));
  const inputs = {
    kind: 'feedback',
    feedback: FEEDBACK_ALGORITHM_VERSION,
    base: base?.id ?? null,
    seed,
    split,
    studies: {
      count: fresh.length,
      sha256: sha256Hex(fresh.map((c) => `${c.study.studyId} ${c.image.sha256} ${c.study.finalLabel} ${c.study.labelledBy}\n`).join('')),
    },
    selection: o.selection ?? {},
    // Only when some study carries box marks, so the ids of versions without any stay what they were.
    ...(fresh.some((c) => c.study.boxLabels?.length)
      ? { boxLabels: sha256Hex(fresh.map((c) => `${c.study.studyId} ${JSON.stringify(c.study.boxLabels ?? [])}\n`).join('')) }
      : {}),
  };
  const id = versionIdOf(inputs);
  const existing = await findVersion(o.db, id);
  if (existing?.status === 'ready') return { versionId: id, built: false, report: existing.report as unknown as FeedbackReport };

  await beginBuild(o.db, { id, name: o.name ?? `feedback ${clock.now().toISOString().slice(0, 10)}`, inputs, now: clock.now().toISOString() });
  try {
    // 5. splits: base patients keep the base's split; the rest are split as a build would
    const baseSplitOf = new Map<string, Split>();
    for (const i of baseImages) if (i.patientKey !== null) baseSplitOf.set(i.patientKey, i.split);
    const scanned = fresh.map((c) => ({ ...c.image, objectKey: imageKey(id, c.study.finalLabel, c.image.fileName) }));
    const followBase = scanned.filter((s) => s.patientKey !== null && baseSplitOf.has(s.patientKey));
    const own = scanned.filter((s) => !(s.patientKey !== null && baseSplitOf.has(s.patientKey)));
    const added: ManifestImage[] = [
      ...(own.length > 0 ? splitImages(own, { seed, split }) : []),
      ...followBase.map((s) => ({ ...s, split: baseSplitOf.get(s.patientKey!)!, finalEval: false })),
    ];
    const images = checkedManifest([...baseImages, ...added]);

    // 6. store and publish
    const uploads = { uploaded: 0, reused: 0 };
    const byKey = new Map(fresh.map((c) => [imageKey(id, c.study.finalLabel, c.image.fileName), c]));
    let stored = 0;
    for (const img of added) {
      await putIfAbsent(o.objects, img.objectKey, byKey.get(img.objectKey)!.bytes, contentTypeOf(img.format), uploads);
      o.onProgress?.({ phase: 'store', done: ++stored, total: added.length });
    }
    const lineage: FeedbackLineage[] = added
      .map((img) => {
        const s = byKey.get(img.objectKey)!.study;
        return {
          sha256: img.sha256,
          object_key: img.objectKey,
          study_id: s.studyId,
          final_label: s.finalLabel,
          labelled_by: s.labelledBy,
          qa_confirmed: s.qaConfirmed,
          reads: s.reads,
          model: s.model,
          finalized_at: s.finalizedAt,
          ...(s.boxLabels?.length ? { box_labels: s.boxLabels } : {}),
        };
      })
      .sort((a, b) => (a.object_key < b.object_key ? -1 : 1));
    const labelledBy: Record<LabelledBy, number> = { B: 0, QA: 0, 'A+model': 0 };
    for (const l of lineage) labelledBy[l.labelled_by] += 1;
    const report: FeedbackReport = {
      version: id,
      kind: 'feedback',
      selection: o.selection ?? {},
      base: base ? { version: base.id, images: baseImages.length } : null,
      studies: o.studies.length,
      added: added.length,
      images: images.length,
      labelledBy,
      duplicates,
      conflicts,
      undecodable,
      patientsFromBase: new Set(followBase.map((s) => s.patientKey)).size,
      counts: countBySplitClass(images),
      finalEval: images.filter((i) => i.finalEval).length,
    };
    await o.objects.put(manifestKey(id), encodeManifest(images), { contentType: 'application/x-ndjson' });
    await o.objects.put(lineageKey(id), lineage.map((l) => `${JSON.stringify(l)}\n`).join(''), { contentType: 'application/x-ndjson' });
    await o.objects.put(reportKey(id), `${JSON.stringify(report, null, 2)}\n`, { contentType: 'application/json' });
    const annotations = await boxAnnotations(o.objects, base?.id, added, byKey);
    if (annotations !== null) await o.objects.put(annotationsKey(id), annotations, { contentType: 'application/x-ndjson' });
    await completeBuild(o.db, id, images, report, clock.now().toISOString());
    return { versionId: id, built: true, report };
  } catch (err) {
    await failBuild(o.db, id, describeError(err)).catch(() => undefined);
    throw err;
  }
}

/**
 * annotations.jsonl of a feedback version (data/detection/annotations.ts reads it): the base's lines as they
 * were, then one line per added image on which reader B confirmed at least one detector box — the confirmed
 * boxes as reader `B`'s boxes and as the reference. They are the model's boxes B confirmed, not a complete
 * annotation (a finding the detector missed is not in them). Null when there is nothing to write.
 */
async function boxAnnotations(
  objects: ObjectStore,
  base: string | undefined,
  added: readonly ManifestImage[],
  byKey: ReadonlyMap<string, Candidate>,
): Promise<string | null> {
  const lines: string[] = [];
  if (base && (await objects.head(annotationsKey(base)))) {
    for (const l of (await objects.getBytes(annotationsKey(base))).toString('utf8').split('\n')) if (l.trim() !== '') lines.push(l);
  }
  const confirmed = new Map<string, AnnotationInput>();
  for (const img of added) {
    const a = confirmedBoxAnnotation(byKey.get(img.objectKey)?.study.boxLabels ?? []);
    if (a) confirmed.set(img.objectKey, a);
  }
  if (confirmed.size === 0) return null;
  return (
    lines.map((l) => `${l}\n`).join('') +
    encodeAnnotations(
      [...added].sort((a, b) => (a.objectKey < b.objectKey ? -1 : 1)),
      confirmed,
    )
  );
}

/**
 * The annotation of one added image from reader B's marks on the detector's boxes: the boxes B marked correct
 * (of the 14 detection classes) as reader `B`'s boxes and, given rather than fused, as the reference (score 1).
 * Undefined when B confirmed none.
 */
export function confirmedBoxAnnotation(marks: readonly BoxLabel[]): AnnotationInput | undefined {
  const confirmed = marks
    .filter((b) => b.correct)
    .map((b) => ({ ...b, classId: detectionClassId(b.class) }))
    .filter((b): b is typeof b & { classId: number } => b.classId !== undefined);
  if (confirmed.length === 0) return undefined;
  return {
    labels: [...new Set(confirmed.map((b) => b.class))],
    readers: ['B'],
    boxes: confirmed.map((b) => ({ label: b.class, reader: 'B', box: b.box })),
    reference: confirmed.map((b) => ({ label: b.class, class_id: b.classId, box: b.box, readers: ['B'], score: 1 })),
  };
}
