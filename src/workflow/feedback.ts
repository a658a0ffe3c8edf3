// Which finalized studies may become training data, and who labelled each (data/feedback builds the version).
// Adjudicated studies carry B's label; QA samples (studies A and the model agreed on, sent to B anyway) carry
// B's label too and confirm or correct that agreement; auto-finalized studies no one reviewed only on request.
// A CXR study a detector read carries reader B's marks on its boxes (boxes.ts) as box labels.
import { ValidationError } from '../core/errors.js';
import { isSecondreadClass } from '../data/classes.js';
import type { BoxLabel, FeedbackStudy, LabelledBy } from '../data/feedback/types.js';
import type { Db } from '../storage/db.js';
import { detectionsOf } from './boxes.js';

export interface FeedbackQuery {
  /** Studies finalized at or after this instant (ISO-8601). */
  since?: string;
  /** Studies finalized before this instant. */
  until?: string;
  /** Also auto-finalized studies B never saw, labelled by A+model agreement (default false). */
  includeAutoFinalized?: boolean;
}

function assertInstant(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new ValidationError(`${name} must be a date or an ISO-8601 time, got '${v.slice(0, 40)}'`);
  return new Date(t).toISOString();
}

/** Finalized studies in the order they were finalized, with their reads and pseudonymous patient keys. */
export async function finalizedStudies(db: Db, q: FeedbackQuery = {}): Promise<FeedbackStudy[]> {
  const since = assertInstant('since', q.since);
  const until = assertInstant('until', q.until);
  let query = db
    .selectFrom('studies')
    .leftJoin('dicom_studies', 'dicom_studies.study_id', 'studies.id')
    .select([
      'studies.id',
      'studies.image_key',
      'studies.status',
      'studies.qa',
      'studies.final_label',
      'studies.finalized_at',
      'studies.model_name',
      'studies.model_version',
      'studies.dataset_version',
      'studies.dataset_sha256',
      'dicom_studies.patient_key',
    ])
    .where('studies.final_label', 'is not', null)
    .where('studies.finalized_at', 'is not', null)
    .where('studies.status', 'in', q.includeAutoFinalized ? ['adjudicated', 'auto_finalized'] : ['adjudicated']);
  if (since) query = query.where('studies.finalized_at', '>=', since);
  if (until) query = query.where('studies.finalized_at', '<', until);
  const rows = await query.orderBy('studies.finalized_at').orderBy('studies.id').execute();
  if (rows.length === 0) return [];

  const reads = new Map<string, Record<string, string>>();
  const ids = rows.map((r) => r.id);
  // Chunked IN lists stay under both dialects' bound-parameter limits.
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = await db
      .selectFrom('reads')
      .select(['study_id', 'reader', 'label'])
      .where('study_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of chunk) reads.set(r.study_id, { ...reads.get(r.study_id), [r.reader]: r.label });
  }
  const datasetPatients = await patientsOfDatasetStudies(db, rows);
  const boxLabels = await boxLabelsOf(db, ids);

  const out: FeedbackStudy[] = [];
  for (const r of rows) {
    const label = r.final_label!;
    if (!isSecondreadClass(label)) continue; // a label outside the nine classes cannot train the classifier
    const rr = reads.get(r.id) ?? {};
    const labelledBy: LabelledBy = r.status === 'auto_finalized' ? 'A+model' : Number(r.qa) === 1 ? 'QA' : 'B';
    out.push({
      studyId: r.id,
      imageKey: r.image_key,
      finalLabel: label,
      labelledBy,
      qaConfirmed: labelledBy === 'QA' ? rr.A === label : null,
      patientKey: r.patient_key ?? (r.dataset_version && r.dataset_sha256 ? (datasetPatients.get(`${r.dataset_version} ${r.dataset_sha256}`) ?? null) : null),
      finalizedAt: r.finalized_at!,
      reads: { A: rr.A ?? null, model: rr.model ?? null, B: rr.B ?? null },
      model: r.model_name !== null && r.model_version !== null ? { name: r.model_name, version: Number(r.model_version) } : null,
      ...(boxLabels.has(r.id) ? { boxLabels: boxLabels.get(r.id)! } : {}),
    });
  }
  return out;
}

/** Reader B's marks on the detector's boxes of these studies, by study id (studies with no mark are absent). */
async function boxLabelsOf(db: Db, ids: readonly string[]): Promise<Map<string, BoxLabel[]>> {
  const out = new Map<string, BoxLabel[]>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const marks = await db.selectFrom('box_marks').selectAll().where('study_id', 'in', chunk).orderBy('study_id').orderBy('box_index').execute();
    if (marks.length === 0) continue;
    const reads = new Map(
      (
        await db
          .selectFrom('box_reads')
          .selectAll()
          .where('study_id', 'in', [...new Set(marks.map((m) => m.study_id))])
          .execute()
      ).map((r) => [r.study_id, r]),
    );
    for (const m of marks) {
      const read = reads.get(m.study_id);
      const box = read ? detectionsOf(read)[Number(m.box_index)] : undefined;
      if (!read || !box) continue;
      const detector = read.model_name !== null && read.model_version !== null ? { name: read.model_name, version: Number(read.model_version) } : null;
      out.set(m.study_id, [...(out.get(m.study_id) ?? []), { class: box.class, score: box.score, box: box.box, correct: Number(m.correct) === 1, detector }]);
    }
  }
  return out;
}

/** Studies replayed from a dataset version (simulations) take the patient key of the image's manifest row. */
async function patientsOfDatasetStudies(
  db: Db,
  rows: readonly { dataset_version: string | null; dataset_sha256: string | null }[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const versions = [...new Set(rows.filter((r) => r.dataset_version && r.dataset_sha256).map((r) => r.dataset_version!))];
  for (const v of versions) {
    const images = await db
      .selectFrom('dataset_images')
      .select(['sha256', 'patient_key'])
      .where('version_id', '=', v)
      .where('patient_key', 'is not', null)
      .execute();
    for (const i of images) out.set(`${v} ${i.sha256}`, i.patient_key!);
  }
  return out;
}

/** How many studies finalized since `since` would be feedback (the "N new labels" retraining trigger counts these). */
export async function countFinalizedStudies(db: Db, q: FeedbackQuery = {}): Promise<number> {
  const since = assertInstant('since', q.since);
  let query = db
    .selectFrom('studies')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('studies.final_label', 'is not', null)
    .where('studies.status', 'in', q.includeAutoFinalized ? ['adjudicated', 'auto_finalized'] : ['adjudicated']);
  if (since) query = query.where('studies.finalized_at', '>=', since);
  const row = await query.executeTakeFirst();
  return Number(row?.n ?? 0);
}
