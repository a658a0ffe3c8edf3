// The append-only audit log of clinical events. Each entry's hash is sha256 over the canonical JSON of
// its own fields and the previous entry's hash, so editing, deleting or reordering any entry breaks
// the chain from that point on; `audit_head` remembers the newest entry, so cutting the tail breaks it
// too. Entries are appended inside the caller's transaction: the event is logged iff the change commits.
import type { Kysely } from 'kysely';

import { canonicalJson } from '../core/canonical-json.js';
import { sha256Hex } from '../core/ids.js';
import type { AuditLogTable, Database } from '../storage/schema.js';

/** prev_hash of the first entry (storage/migrations/0004_workflow.ts seeds `audit_head` with the same value). */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** Study events, then the model change events of src/rollout (no study: studyId null). */
export const AUDIT_EVENTS = [
  'study.intake',
  'read.model',
  'read.model_failed',
  'read.detector',
  'read.detector_failed',
  'box.marked',
  'read.A',
  'decision',
  'read.B',
  'study.finalized',
  'rollout.evaluated',
  'rollout.started',
  'rollout.stepped',
  'rollout.promoted',
  'rollout.rolled_back',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export interface AuditEntryInput {
  at: string;
  /** Who caused it: `user:<name>`, `model:<name>@<version>`, or `system`. */
  actor: string;
  event: AuditEvent;
  studyId: string | null;
  payload: Record<string, unknown>;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  event: string;
  studyId: string | null;
  payload: unknown;
  prevHash: string;
  hash: string;
}

/** The hash of one entry: what the chain links. */
export function auditHash(r: Omit<AuditLogTable, 'hash'>): string {
  return sha256Hex(
    canonicalJson({ seq: r.seq, at: r.at, actor: r.actor, event: r.event, study_id: r.study_id, payload_json: r.payload_json, prev_hash: r.prev_hash }),
  );
}

/**
 * Appends one entry within `trx` (a transaction). Incrementing the head row first takes its row lock
 * on PostgreSQL, so concurrent appenders queue up here and never claim the same seq or link to the
 * same predecessor; SQLite transactions are serialized anyway.
 */
export async function appendAudit(trx: Kysely<Database>, e: AuditEntryInput): Promise<AuditEntry> {
  const head = await trx
    .updateTable('audit_head')
    .set((eb) => ({ seq: eb('seq', '+', 1) }))
    .where('id', '=', 1)
    .returning(['seq', 'hash'])
    .executeTakeFirstOrThrow();
  const row: Omit<AuditLogTable, 'hash'> = {
    seq: head.seq,
    at: e.at,
    actor: e.actor,
    event: e.event,
    study_id: e.studyId,
    payload_json: canonicalJson(e.payload),
    prev_hash: head.hash,
  };
  const hash = auditHash(row);
  await trx
    .insertInto('audit_log')
    .values({ ...row, hash })
    .execute();
  await trx.updateTable('audit_head').set({ hash }).where('id', '=', 1).execute();
  return toEntry({ ...row, hash });
}

export type AuditVerification =
  | { ok: true; entries: number; headHash: string }
  | { ok: false; entries: number; seq: number; reason: 'missing' | 'prev_hash_mismatch' | 'hash_mismatch' | 'head_mismatch'; message: string };

const PAGE = 1000;

/**
 * Walks the whole chain in seq order. `entries` counts the entries verified before the first bad one;
 * `seq` names the first entry that does not verify (for a deleted entry: the seq that is missing).
 */
export async function verifyAuditLog(db: Kysely<Database>): Promise<AuditVerification> {
  let expected = 1;
  let prev = AUDIT_GENESIS_HASH;
  const fail = (seq: number, reason: Extract<AuditVerification, { ok: false }>['reason'], message: string): AuditVerification => ({
    ok: false,
    entries: expected - 1,
    seq,
    reason,
    message,
  });
  for (;;) {
    const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>=', expected).orderBy('seq').limit(PAGE).execute();
    for (const r of rows) {
      if (r.seq !== expected) return fail(expected, 'missing', `audit entry ${expected} is missing (next is ${r.seq})`);
      if (r.prev_hash !== prev)
        return fail(r.seq, 'prev_hash_mismatch', `audit entry ${r.seq} does not link to entry ${r.seq - 1} (reordered, or the entry before it was replaced)`);
      const { hash, ...rest } = r;
      if (auditHash(rest) !== hash) return fail(r.seq, 'hash_mismatch', `audit entry ${r.seq} was modified (its hash does not match its content)`);
      prev = hash;
      expected += 1;
    }
    if (rows.length < PAGE) break;
  }
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  const last = expected - 1;
  if (!head || head.seq !== last) {
    const headSeq = head?.seq ?? 0;
    return headSeq > last
      ? fail(last + 1, 'missing', `audit entries ${last + 1}…${headSeq} are missing (the log ends at ${last})`)
      : fail(last, 'head_mismatch', `the audit head names entry ${headSeq}, the log ends at ${last}`);
  }
  if (head.hash !== prev) return fail(last, 'head_mismatch', `audit entry ${last} is not the entry the head recorded`);
  return { ok: true, entries: last, headHash: prev };
}

/** Entries in seq order, optionally of one study, after a seq (paging). */
export async function listAudit(db: Kysely<Database>, o: { studyId?: string; afterSeq?: number; limit?: number } = {}): Promise<AuditEntry[]> {
  let q = db.selectFrom('audit_log').selectAll();
  if (o.studyId !== undefined) q = q.where('study_id', '=', o.studyId);
  if (o.afterSeq !== undefined) q = q.where('seq', '>', o.afterSeq);
  const rows = await q
    .orderBy('seq')
    .limit(Math.min(Math.max(1, o.limit ?? 100), 1000))
    .execute();
  return rows.map(toEntry);
}

function toEntry(r: AuditLogTable): AuditEntry {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    event: r.event,
    studyId: r.study_id,
    payload: JSON.parse(r.payload_json) as unknown,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
