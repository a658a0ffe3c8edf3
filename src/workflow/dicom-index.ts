// The DICOM index of the workflow's studies (dicom_studies, migration 0006): written in the intake
// transaction of every study registered from a DICOM instance, read by QIDO-RS and WADO-RS. Every value
// in it is de-identified (remapped UIDs, the pseudonymous patient key), so a query can never match, and
// an answer never carry, an identifier as the sender knew it.
//
// One workflow study is one instance; a DICOM study (one Study Instance UID) may hold several of them,
// e.g. a PA and a lateral sent together, so study and series level answers aggregate over rows.
import { type Kysely, sql } from 'kysely';

import type { Database, DicomStudiesTable } from '../storage/schema.js';

export type DicomIndexRow = DicomStudiesTable;

/** QIDO matching on the attributes the index holds; every list means "any of". Values are already validated. */
export interface DicomQuery {
  studyInstanceUids?: string[];
  seriesInstanceUids?: string[];
  sopInstanceUids?: string[];
  sopClassUids?: string[];
  /** The pseudonymous patient key (QIDO PatientID). */
  patientKey?: string;
  /** Inclusive YYYYMMDD bounds; either may be open. */
  studyDate?: { from?: string; to?: string };
  /** Study level: studies with at least one instance of these; series and instance level: of these. */
  modalities?: string[];
  limit: number;
  offset: number;
}

export interface DicomStudyMatch {
  studyInstanceUid: string;
  patientKey: string;
  studyDate: string | null;
  modalities: string[];
  series: number;
  instances: number;
}

export interface DicomSeriesMatch {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality: string;
  instances: number;
}

export async function insertDicomIndex(trx: Kysely<Database>, row: DicomIndexRow): Promise<void> {
  await trx.insertInto('dicom_studies').values(row).execute();
}

/** The study already registered from this (de-identified) SOP Instance UID, if any: a resend. */
export async function studyOfSopInstance(db: Kysely<Database>, sopInstanceUid: string): Promise<string | null> {
  const row = await db
    .selectFrom('dicom_studies')
    .select('study_id')
    .where('sop_instance_uid', '=', sopInstanceUid)
    .orderBy('created_at', 'asc')
    .executeTakeFirst();
  return row?.study_id ?? null;
}

function filtered(db: Kysely<Database>, q: DicomQuery, o: { modalityPerRow: boolean }) {
  let s = db.selectFrom('dicom_studies');
  if (q.studyInstanceUids?.length) s = s.where('study_instance_uid', 'in', q.studyInstanceUids);
  if (q.seriesInstanceUids?.length) s = s.where('series_instance_uid', 'in', q.seriesInstanceUids);
  if (q.sopInstanceUids?.length) s = s.where('sop_instance_uid', 'in', q.sopInstanceUids);
  if (q.sopClassUids?.length) s = s.where('sop_class_uid', 'in', q.sopClassUids);
  if (q.patientKey !== undefined) s = s.where('patient_key', '=', q.patientKey);
  if (q.studyDate?.from !== undefined) s = s.where('study_date', '>=', q.studyDate.from);
  if (q.studyDate?.to !== undefined) s = s.where('study_date', '<=', q.studyDate.to);
  if (q.modalities?.length) {
    const modalities = q.modalities;
    s = o.modalityPerRow
      ? s.where('modality', 'in', modalities)
      : s.where('study_instance_uid', 'in', (eb) => eb.selectFrom('dicom_studies as m').select('m.study_instance_uid').where('m.modality', 'in', modalities));
  }
  return s;
}

/** Study level: newest first (by the last instance received), then by UID. */
export async function searchStudies(db: Kysely<Database>, q: DicomQuery): Promise<DicomStudyMatch[]> {
  const rows = await filtered(db, q, { modalityPerRow: false })
    .select([
      'study_instance_uid',
      sql<string>`min(patient_key)`.as('patient_key'),
      sql<string | null>`min(study_date)`.as('study_date'),
      sql<number>`count(distinct series_instance_uid)`.as('series'),
      sql<number>`count(*)`.as('instances'),
    ])
    .groupBy('study_instance_uid')
    .orderBy(sql`max(created_at)`, 'desc')
    .orderBy('study_instance_uid', 'asc')
    .limit(q.limit)
    .offset(q.offset)
    .execute();
  if (rows.length === 0) return [];
  const mods = await db
    .selectFrom('dicom_studies')
    .select(['study_instance_uid', 'modality'])
    .distinct()
    .where(
      'study_instance_uid',
      'in',
      rows.map((r) => r.study_instance_uid),
    )
    .orderBy('modality')
    .execute();
  return rows.map((r) => ({
    studyInstanceUid: r.study_instance_uid,
    patientKey: r.patient_key,
    studyDate: r.study_date,
    modalities: mods.filter((m) => m.study_instance_uid === r.study_instance_uid).map((m) => m.modality),
    series: Number(r.series),
    instances: Number(r.instances),
  }));
}

/** Series level, in the order they were received. */
export async function searchSeries(db: Kysely<Database>, q: DicomQuery): Promise<DicomSeriesMatch[]> {
  const rows = await filtered(db, q, { modalityPerRow: true })
    .select(['study_instance_uid', 'series_instance_uid', sql<string>`min(modality)`.as('modality'), sql<number>`count(*)`.as('instances')])
    .groupBy(['study_instance_uid', 'series_instance_uid'])
    .orderBy(sql`min(created_at)`, 'asc')
    .orderBy('series_instance_uid', 'asc')
    .limit(q.limit)
    .offset(q.offset)
    .execute();
  return rows.map((r) => ({
    studyInstanceUid: r.study_instance_uid,
    seriesInstanceUid: r.series_instance_uid,
    modality: r.modality,
    instances: Number(r.instances),
  }));
}

/** Instance level (index rows), in the order they were received. */
export async function searchInstances(db: Kysely<Database>, q: DicomQuery): Promise<DicomIndexRow[]> {
  return filtered(db, q, { modalityPerRow: true })
    .selectAll()
    .orderBy('created_at', 'asc')
    .orderBy('sop_instance_uid', 'asc')
    .orderBy('study_id', 'asc')
    .limit(q.limit)
    .offset(q.offset)
    .execute();
}
