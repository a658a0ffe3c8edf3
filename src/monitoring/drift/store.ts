// The drift tables: observations in (one per model read), windows out, checks recorded and listed. Timestamps are
// ISO-8601 UTC text, so time windows and the alarm cursor compare as strings on both SQLite and PostgreSQL.
import { newId } from '../../core/ids.js';
import type { Db } from '../../storage/db.js';
import type { DriftChecksTable, DriftObservationsTable } from '../../storage/schema.js';
import type { DriftCheck, DriftObservation, WindowModality, WindowSpec } from './types.js';

export function encodeEmbedding(v: Float32Array): string {
  const le = new Float32Array(v); // a copy: the view's buffer may be larger than the vector
  return Buffer.from(le.buffer, le.byteOffset, le.byteLength).toString('base64');
}

export function decodeEmbedding(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

export async function recordObservation(db: Db, o: DriftObservation): Promise<string> {
  const id = newId('dob_');
  await db
    .insertInto('drift_observations')
    .values({
      id,
      study_id: o.studyId,
      model_name: o.model,
      model_version: o.version,
      modality: o.modality,
      top_class: o.topClass,
      top_probability: o.topProbability,
      image_mean: o.image?.mean ?? null,
      image_std: o.image?.std ?? null,
      image_width: o.image?.width ?? null,
      image_height: o.image?.height ?? null,
      embedding: o.embedding ? encodeEmbedding(o.embedding) : null,
      at: o.at,
    })
    .execute();
  return id;
}

/** The window's observations, oldest first: the newest `size` reads, or those in (now − seconds, now]. */
export async function windowObservations(
  db: Db,
  o: { model: string; version: number; modality: WindowModality; window: WindowSpec; now: Date },
): Promise<DriftObservation[]> {
  let q = db.selectFrom('drift_observations').selectAll().where('model_name', '=', o.model).where('model_version', '=', o.version);
  if (o.modality !== 'all') q = q.where('modality', '=', o.modality);
  const rows =
    o.window.kind === 'count'
      ? (await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(o.window.size).execute()).reverse()
      : await q
          .where('at', '>', new Date(o.now.getTime() - o.window.seconds * 1000).toISOString())
          .where('at', '<=', o.now.toISOString())
          .orderBy('at')
          .orderBy('id')
          .execute();
  return rows.map(observationOf);
}

function observationOf(r: DriftObservationsTable): DriftObservation {
  const measured = r.image_mean !== null && r.image_std !== null && r.image_width !== null && r.image_height !== null;
  return {
    studyId: r.study_id,
    model: r.model_name,
    version: Number(r.model_version),
    modality: r.modality,
    topClass: r.top_class,
    topProbability: Number(r.top_probability),
    image: measured ? { mean: Number(r.image_mean), std: Number(r.image_std), width: Number(r.image_width), height: Number(r.image_height) } : null,
    embedding: r.embedding === null ? null : decodeEmbedding(r.embedding),
    at: r.at,
  };
}

/** The newest check of a model version's windows of `modality` (by anyone), or null. */
export async function latestCheck(db: Db, o: { model: string; version: number; modality: WindowModality }): Promise<DriftCheck | null> {
  const r = await db
    .selectFrom('drift_checks')
    .selectAll()
    .where('model_name', '=', o.model)
    .where('model_version', '=', o.version)
    .where('modality', '=', o.modality)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return r ? checkOf(r) : null;
}

/** How many reads of the model version (of `modality`, all for 'all') were recorded after `after` (all when null). */
export async function countObservations(db: Db, o: { model: string; version: number; modality: WindowModality; after: string | null }): Promise<number> {
  let q = db
    .selectFrom('drift_observations')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .where('model_name', '=', o.model)
    .where('model_version', '=', o.version);
  if (o.modality !== 'all') q = q.where('modality', '=', o.modality);
  if (o.after !== null) q = q.where('at', '>', o.after);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

export async function checkExists(db: Db, id: string): Promise<boolean> {
  return (await db.selectFrom('drift_checks').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

export async function insertCheck(db: Db, c: DriftCheck): Promise<void> {
  await db
    .insertInto('drift_checks')
    .values({
      id: c.id,
      model_name: c.model,
      model_version: c.version,
      modality: c.modality,
      window_kind: c.window.kind,
      window_start: c.window.start,
      window_end: c.window.end,
      observations: c.window.observations,
      alpha: c.alpha,
      correction: c.correction,
      tests_json: JSON.stringify({ tests: c.tests, skipped: c.skipped }),
      detected: c.detected ? 1 : 0,
      estimated_accuracy: c.estimatedAccuracy,
      realized_agreement: c.realizedAgreement,
      agreement_reads: c.agreementReads,
      created_by: c.createdBy,
      created_at: c.createdAt,
    })
    .execute();
}

/** Checks newest first, optionally for one model. */
export async function listChecks(db: Db, o: { model?: string; limit?: number } = {}): Promise<DriftCheck[]> {
  let q = db.selectFrom('drift_checks').selectAll();
  if (o.model !== undefined) q = q.where('model_name', '=', o.model);
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(o.limit ?? 100)
    .execute();
  return rows.map(checkOf);
}

export function checkOf(r: DriftChecksTable): DriftCheck {
  const { tests, skipped } = JSON.parse(r.tests_json) as Pick<DriftCheck, 'tests' | 'skipped'>;
  return {
    id: r.id,
    model: r.model_name,
    version: Number(r.model_version),
    modality: r.modality as WindowModality,
    window: { kind: r.window_kind as WindowSpec['kind'], start: r.window_start, end: r.window_end, observations: Number(r.observations) },
    alpha: Number(r.alpha),
    correction: 'holm',
    tests,
    skipped,
    detected: r.detected === 1,
    estimatedAccuracy: r.estimated_accuracy === null ? null : Number(r.estimated_accuracy),
    realizedAgreement: r.realized_agreement === null ? null : Number(r.realized_agreement),
    agreementReads: Number(r.agreement_reads),
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}
