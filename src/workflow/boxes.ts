// The detector's part of the model's read (issue 18): a CXR study is also read by the configured detector at
// intake, its boxes (original image's pixels) stored in `box_reads` and shown with the model's read — so they
// follow the same blinding — and reader B marks each box correct or incorrect (`box_marks`), the box labels
// the feedback dataset carries for retraining. A detector that fails or answers nonsense fails only the box
// read (recorded as `read.detector_failed`), never the intake.
import type { Kysely } from 'kysely';

import { describeError, SecondreadError, ValidationError } from '../core/errors.js';
import type { BoxMarksTable, BoxReadsTable, Database } from '../storage/schema.js';
import type { ModelDetection } from './views.js';

/** The detector's read of one image: its boxes in the ORIGINAL image's pixels, best first. */
export interface BoxRead {
  model: string;
  version: number;
  detections: ModelDetection[];
  /** How serving chose the version (`production`, `canary`, …). */
  route?: string;
}

/** The API backs this with serving's detector deployment (config `workflow.detector`). */
export interface BoxReader {
  read(image: Uint8Array, o: { studyId: string }): Promise<BoxRead>;
}

/** The outcome of a box read at intake: a failure is an answer, not an exception. */
export type BoxOutcome = { ok: true; read: BoxRead } | { ok: false; error: string };

/** What the study view needs of a study's box read. */
export interface StudyBoxes {
  read: BoxReadsTable | undefined;
  marks: readonly BoxMarksTable[];
}

/** Boxes a read may carry: more is a misconfigured detector (its maxDetections is in the hundreds at most). */
const MAX_BOXES = 1000;
const CLASS_NAME = /^[\x20-\x7e]{1,64}$/;

/** The detector is another component: its answer is checked before it becomes part of a clinical record. */
export function assertBoxRead(r: BoxRead): BoxRead {
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const okBox = (d: ModelDetection | undefined): boolean =>
    !!d &&
    typeof d.class === 'string' &&
    CLASS_NAME.test(d.class) &&
    finite(d.score) &&
    d.score >= 0 &&
    d.score <= 1 &&
    Array.isArray(d.box) &&
    d.box.length === 4 &&
    d.box.every(finite) &&
    d.box[0] <= d.box[2] &&
    d.box[1] <= d.box[3];
  if (!r || typeof r.model !== 'string' || !Number.isInteger(r.version) || !Array.isArray(r.detections) || r.detections.length > MAX_BOXES) {
    throw new BoxReadInvalidError('the detector returned a malformed read');
  }
  if (!r.detections.every(okBox)) throw new BoxReadInvalidError('the detector returned a malformed box');
  return {
    model: r.model,
    version: r.version,
    // Best first, so box indices (what B's marks point at) are stable and the viewer lists the strongest first.
    detections: r.detections
      .map((d) => ({ class: d.class, score: d.score, box: [d.box[0], d.box[1], d.box[2], d.box[3]] as ModelDetection['box'] }))
      .sort((a, b) => b.score - a.score),
    ...(typeof r.route === 'string' ? { route: r.route.slice(0, 40) } : {}),
  };
}

/** Runs the detector; never throws (the intake goes on without boxes when it fails). */
export async function readBoxes(reader: BoxReader, image: Uint8Array, studyId: string): Promise<BoxOutcome> {
  try {
    return { ok: true, read: assertBoxRead(await reader.read(image, { studyId })) };
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

/** The `box_reads` row of an intake's box read. */
export function boxReadRow(studyId: string, outcome: BoxOutcome, at: string): BoxReadsTable {
  return outcome.ok
    ? {
        study_id: studyId,
        status: 'read',
        model_name: outcome.read.model,
        model_version: outcome.read.version,
        detections_json: JSON.stringify(outcome.read.detections),
        error: null,
        created_at: at,
      }
    : { study_id: studyId, status: 'failed', model_name: null, model_version: null, detections_json: null, error: outcome.error.slice(0, 500), created_at: at };
}

/** The box reads and marks of some studies, by study id (chunked IN lists stay under both dialects' parameter limits). */
export async function loadBoxes(db: Kysely<Database>, studyIds: readonly string[]): Promise<Map<string, StudyBoxes>> {
  const out = new Map<string, StudyBoxes>();
  for (let i = 0; i < studyIds.length; i += 500) {
    const ids = studyIds.slice(i, i + 500);
    const reads = await db.selectFrom('box_reads').selectAll().where('study_id', 'in', ids).execute();
    if (reads.length === 0) continue;
    const marks = await db
      .selectFrom('box_marks')
      .selectAll()
      .where(
        'study_id',
        'in',
        reads.map((r) => r.study_id),
      )
      .orderBy('box_index')
      .execute();
    for (const r of reads) out.set(r.study_id, { read: r, marks: marks.filter((m) => m.study_id === r.study_id) });
  }
  return out;
}

export function detectionsOf(read: BoxReadsTable): ModelDetection[] {
  return read.status === 'read' ? (JSON.parse(read.detections_json ?? '[]') as ModelDetection[]) : [];
}

/** The mark B sends: which box, and its verdict. */
export function assertBoxMark(
  read: BoxReadsTable | undefined,
  studyId: string,
  index: unknown,
  correct: unknown,
): { index: number; correct: boolean; box: ModelDetection } {
  if (typeof correct !== 'boolean') throw new ValidationError('correct must be true or false');
  if (!read || read.status !== 'read') throw new NoBoxesError(studyId);
  const boxes = detectionsOf(read);
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= boxes.length) {
    throw new ValidationError(`box index must be an integer in 0…${boxes.length - 1} (the study has ${boxes.length} boxes)`, {
      index: String(index).slice(0, 20),
    });
  }
  return { index, correct, box: boxes[index]! };
}

/** The detector answered something that is not a well-formed read. */
export class BoxReadInvalidError extends SecondreadError {
  constructor(message: string) {
    super('box_read_invalid', message, 502);
  }
}

/** A mark on a study the detector did not read (none configured at intake, or its read failed). */
export class NoBoxesError extends SecondreadError {
  constructor(studyId: string) {
    super('no_boxes', `study '${studyId}' has no boxes to mark (no detector read it, or its read failed)`, 409, { studyId });
  }
}
