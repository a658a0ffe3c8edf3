// Which audit entries make a result for the PACS, and what that result says. Read from the append-only
// audit trail alone (workflow/audit.ts), so the exporter needs no hook in the workflow and a restart
// resumes where it stopped:
// - the model's read → a model result SR. By default it leaves with the policy's `decision` (after reader
//   A's read): the SR then carries the decision, and the model's answer cannot reach reader A through the
//   PACS viewer before A has read (blinded double reading). `modelResultAfter: 'read'` sends it at once.
// - the detector's read (`read.detector`, issue 18) → a detection result SR (each box an image region on the
//   original instance; with no box, "No abnormality detected", so the PACS can tell "ran, found nothing" from
//   "never ran"). It follows the model's result: with the decision by default (reader A sees no box before
//   committing, in the viewer or the PACS), at once with `read`.
// - reader B's read (`read.B`) → a reader result SR with B's final label, B named by a pseudonym; and when B
//   marked boxes, a detection review SR: the boxes again with B's verdict on each. A mark B changes after
//   the read (`box.marked` on an adjudicated study) sends a new detection review with the verdicts then.
// Only studies that came in as DICOM go back (an uploaded PNG has no study in any PACS).
import { sha256Hex } from '../core/ids.js';
import type { SrOrigin } from '../data/dicom/sr/index.js';
import {
  type BoxReview,
  buildDetectionResultSr,
  buildDetectionReviewSr,
  buildModelResultSr,
  buildReaderResultSr,
  checkDetections,
  checkReview,
  detectionResultSrUids,
  detectionReviewSrUids,
  type ModelResultSrInput,
  modelResultSrUids,
  type ReaderResultSrInput,
  readerResultSrUids,
  type SrDetection,
  SrInputError,
} from '../data/dicom/sr/index.js';
import type { AuditEntry } from '../workflow/audit.js';

export type ResultOrigin = SrOrigin;

export type ResultPayload =
  | {
      kind: 'model-result';
      model: { name: string; version: string };
      predictions: { class: string; probability: number }[];
      top: string;
      decision?: { decision: string; reasons: string[] };
      observedAt: string;
    }
  | { kind: 'reader-result'; reader: { pseudonym: string; role: 'B' }; finalLabel: string; decidedAt: string }
  | DetectionResultPayload
  | DetectionReviewPayload;

/** The detector's boxes; `image` (the original's Columns × Rows) is added by the exporter from the study's DICOM facts. */
export interface DetectionResultPayload {
  kind: 'detection-result';
  model: { name: string; version: string };
  detections: SrDetection[];
  observedAt: string;
  image?: { columns: number; rows: number };
}

/** The boxes with reader B's verdicts (`review.verdicts[i]` for `detections[i]`: true correct, false incorrect, null not marked). */
export interface DetectionReviewPayload extends Omit<DetectionResultPayload, 'kind'> {
  kind: 'detection-review';
  review: { reviewers: string[]; verdicts: (boolean | null)[]; reviewedAt: string };
}

export type ModelResultAfter = 'decision' | 'read';

/** The audit events that can make a result (the exporter reads a study's trail only for these). */
export function mayMakeResult(event: string, after: ModelResultAfter): boolean {
  return event === 'read.B' || event === 'box.marked' || (after === 'decision' ? event === 'decision' : event === 'read.model' || event === 'read.detector');
}

interface ModelReadPayload {
  model: string;
  version: number;
  top: { class: string };
  predictions: { class: string; probability: number }[];
}

/** The detector's read as the audit trail has it (`read.detector`, written with the study's intake). */
interface DetectorReadPayload {
  model: string;
  version: number;
  detections: SrDetection[];
}

/** Reader B's mark on a box as the audit trail has it (`box.marked`). */
interface BoxMarkPayload {
  index: number;
  correct: boolean;
  detector: { name: string; version: number };
  previous: { correct: boolean } | null;
  userId: string;
}

/**
 * Every result an audit entry makes, given its study's trail (entries in seq order): with `decision`, the
 * model's result and the detector's (each when its read is in the trail); with `read`, the one of the read
 * it is; for `read.B` reader B's, and the detection review when B marked boxes; for a `box.marked` after
 * `read.B`, the detection review with the verdicts as they are then.
 */
export function resultsOf(entry: AuditEntry, trail: readonly AuditEntry[], after: ModelResultAfter): ResultPayload[] {
  const out: ResultPayload[] = [];
  if (entry.event === 'read.B' || entry.event === 'box.marked') {
    const review = entry.studyId !== null && isDicomStudy(trail) ? detectionReviewOf(entry, trail) : null;
    if (entry.event === 'read.B') {
      const result = resultOf(entry, trail, after);
      if (result) out.push(result);
    }
    if (review) out.push(review);
    return out;
  }
  if (entry.event !== 'read.detector') {
    const result = resultOf(entry, trail, after);
    if (result) out.push(result);
  }
  const boxesFollow = entry.event === 'decision' || entry.event === 'read.detector';
  if (boxesFollow && mayMakeResult(entry.event, after) && entry.studyId !== null && isDicomStudy(trail)) {
    const read = entry.event === 'read.detector' ? entry : trail.find((e) => e.event === 'read.detector');
    const boxes = read ? detectionResultOf(read) : null;
    if (boxes) out.push(boxes);
  }
  return out;
}

function detectionResultOf(read: AuditEntry): DetectionResultPayload | null {
  const d = read.payload as DetectorReadPayload;
  if (!Array.isArray(d.detections)) return null;
  return {
    kind: 'detection-result',
    model: { name: d.model, version: String(d.version) },
    detections: d.detections.map((x) => ({ class: x.class, score: x.score, box: x.box })),
    observedAt: read.at,
  };
}

/**
 * The detection review an entry makes: at `read.B`, or at a `box.marked` that follows it, B's latest verdict
 * on each box up to this entry (marks of another detector read are ignored); null when no mark is made yet,
 * the detector drew no box, or (for a mark) B has not read yet — B's read sends the marks made before it.
 */
function detectionReviewOf(entry: AuditEntry, trail: readonly AuditEntry[]): DetectionReviewPayload | null {
  const upTo = trail.filter((e) => e.seq <= entry.seq);
  if (entry.event === 'box.marked') {
    const m = entry.payload as BoxMarkPayload;
    // Before B's read the marks wait for it; after it, a mark that repeats the verdict changes nothing.
    if (!upTo.some((e) => e.event === 'read.B') || m.previous?.correct === m.correct) return null;
  }
  const read = upTo.find((e) => e.event === 'read.detector');
  const boxes = read ? detectionResultOf(read) : null;
  if (!boxes || boxes.detections.length === 0) return null;
  const verdicts: (boolean | null)[] = boxes.detections.map(() => null);
  const by: (string | null)[] = verdicts.map(() => null);
  for (const e of upTo) {
    if (e.event !== 'box.marked') continue;
    const m = e.payload as BoxMarkPayload;
    const same = m.detector?.name === boxes.model.name && String(m.detector?.version) === boxes.model.version;
    if (!same || !Number.isInteger(m.index) || m.index < 0 || m.index >= verdicts.length || typeof m.correct !== 'boolean') continue;
    verdicts[m.index] = m.correct; // the trail is in seq order: the latest mark of a box counts
    by[m.index] = readerPseudonym(m.userId);
  }
  if (verdicts.every((v) => v === null)) return null;
  const reviewers = [...new Set(by.filter((p): p is string => p !== null))];
  return { ...boxes, kind: 'detection-review', review: { reviewers, verdicts, reviewedAt: entry.at } };
}

function isDicomStudy(trail: readonly AuditEntry[]): boolean {
  const intake = trail.find((e) => e.event === 'study.intake');
  return intake !== undefined && Boolean((intake.payload as { dicom?: unknown }).dicom);
}

/**
 * The model's or reader B's result an audit entry makes, given its study's trail (entries in seq order),
 * or null: not such a result event, not a DICOM study, or a decision without a model read (the model
 * failed at intake).
 */
export function resultOf(entry: AuditEntry, trail: readonly AuditEntry[], after: ModelResultAfter): ResultPayload | null {
  if (!mayMakeResult(entry.event, after) || entry.event === 'read.detector' || entry.event === 'box.marked' || entry.studyId === null) return null;
  if (!isDicomStudy(trail)) return null;
  if (entry.event === 'read.B') {
    const p = entry.payload as { label: string; userId: string };
    return { kind: 'reader-result', reader: { pseudonym: readerPseudonym(p.userId), role: 'B' }, finalLabel: p.label, decidedAt: entry.at };
  }
  const read = entry.event === 'read.model' ? entry : trail.find((e) => e.event === 'read.model');
  if (!read) return null;
  const m = read.payload as ModelReadPayload;
  const base = {
    kind: 'model-result' as const,
    model: { name: m.model, version: String(m.version) },
    predictions: m.predictions.map((p) => ({ class: p.class, probability: p.probability })),
    top: m.top.class,
    observedAt: read.at,
  };
  if (entry.event !== 'decision') return base;
  const d = entry.payload as { decision: string; reasons?: string[] };
  return { ...base, decision: { decision: d.decision, reasons: d.reasons ?? [] } };
}

/**
 * Reader B as the SR names them: a stable pseudonym of the user id, never the user's name (the SR
 * leaves secondread for the PACS; the audit trail maps it back for those who may know).
 */
export function readerPseudonym(userId: string): string {
  return `reader-${sha256Hex(`secondread/reader/${userId}`).slice(0, 12)}`;
}

/** Builds the SR of a result (Contract 2 of issue 17); the exporter takes it as a dependency so tests can fake it. */
export interface ResultSrWriter {
  /** The SR's SOP Instance UID (deterministic: the idempotency key), without building it. */
  sopInstanceUid(origin: ResultOrigin, studyId: string, result: ResultPayload): string;
  build(origin: ResultOrigin, studyId: string, result: ResultPayload): Uint8Array;
}

/** Throws SrInputError when the result cannot make a valid SR (a detection result's boxes against its image), without building it. */
export function checkResultSr(r: ResultPayload): void {
  if (r.kind !== 'detection-result' && r.kind !== 'detection-review') return;
  checkDetections(imageOf(r), r.detections);
  if (r.kind === 'detection-review') checkReview(r.detections, reviewOf(r));
}

function imageOf(r: DetectionResultPayload | DetectionReviewPayload): { columns: number; rows: number } {
  if (!r.image) throw new SrInputError(`the ${r.kind} has no image size (the study's DICOM facts were missing)`);
  return r.image;
}

function reviewOf(r: DetectionReviewPayload): BoxReview {
  return { reviewers: r.review.reviewers, verdicts: r.review.verdicts, reviewedAt: new Date(r.review.reviewedAt) };
}

export const srWriter: ResultSrWriter = {
  sopInstanceUid(origin, _studyId, r) {
    if (r.kind === 'model-result') return modelResultSrUids(origin, r.model).sopInstanceUid;
    if (r.kind === 'detection-result') return detectionResultSrUids(origin, r.model).sopInstanceUid;
    if (r.kind === 'detection-review') return detectionReviewSrUids(origin, r.model, reviewOf(r)).sopInstanceUid;
    return readerResultSrUids({ origin, reader: r.reader, finalLabel: r.finalLabel, decidedAt: new Date(r.decidedAt) }).sopInstanceUid;
  },
  build(origin, studyId, r) {
    if (r.kind === 'detection-result' || r.kind === 'detection-review') {
      const input = { origin, model: r.model, image: imageOf(r), detections: r.detections, observedAt: new Date(r.observedAt), studyId };
      return r.kind === 'detection-result' ? buildDetectionResultSr(input) : buildDetectionReviewSr({ ...input, review: reviewOf(r) });
    }
    if (r.kind === 'reader-result') {
      const input: ReaderResultSrInput = { origin, reader: r.reader, finalLabel: r.finalLabel, decidedAt: new Date(r.decidedAt), studyId };
      return buildReaderResultSr(input);
    }
    const input: ModelResultSrInput = {
      origin,
      model: r.model,
      predictions: r.predictions,
      top: r.top,
      ...(r.decision ? { decision: r.decision } : {}),
      observedAt: new Date(r.observedAt),
      studyId,
    };
    return buildModelResultSr(input);
  },
};
