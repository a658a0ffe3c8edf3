// The pacs_exports table (storage/migrations/0007_pacs_exports.ts): one row per result and PACS node,
// and the cursor that says how far the audit trail has been read. Rows are added with the cursor's move in
// one transaction, so a restart neither loses nor repeats an event; a due row is claimed with a
// compare-and-set on its due time before it is sent, so two exporters never send the same row at once.
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Db } from '../storage/db.js';
import type { PacsExportsTable } from '../storage/schema.js';

export const EXPORT_STATUSES = ['pending', 'sent', 'dead', 'skipped'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];
export const EXPORT_KINDS = ['model-result', 'reader-result', 'detection-result', 'detection-review'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

/** One export as the API shows it (camelCase; the payload is the SR's non-identifying content). */
export interface PacsExport {
  id: string;
  node: string;
  kind: ExportKind;
  studyId: string;
  auditSeq: number;
  sopInstanceUid: string | null;
  status: ExportStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  sentAt: string | null;
}

export interface NewExport {
  node: string;
  kind: ExportKind;
  studyId: string;
  auditSeq: number;
  sopInstanceUid: string | null;
  payload: unknown;
  /** pending (to send) or skipped (no SR can be made: `reason` says why). */
  status: 'pending' | 'skipped';
  reason?: string;
}

const EXPORT_ID = /^px_[a-z0-9]{1,64}$/;

export function toExport(r: PacsExportsTable): PacsExport {
  return {
    id: r.id,
    node: r.node,
    kind: r.kind as ExportKind,
    studyId: r.study_id,
    auditSeq: r.audit_seq,
    sopInstanceUid: r.sop_instance_uid,
    status: r.status as ExportStatus,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    sentAt: r.sent_at,
  };
}

export class PacsExportStore {
  constructor(private readonly db: Db) {}

  async cursor(): Promise<number> {
    const row = await this.db.selectFrom('pacs_export_cursor').select('seq').where('id', '=', 1).executeTakeFirst();
    return row?.seq ?? 0;
  }

  /**
   * Adds the exports of the audit entries up to `to` and moves the cursor from `from` to `to`, in one
   * transaction. A row that exists (same event, kind and node, or same node and SOP Instance UID) is kept
   * as it is. Answers how many rows were added, or null when another exporter moved the cursor first
   * (then nothing is written).
   */
  async record(rows: NewExport[], from: number, to: number, now: string): Promise<number | null> {
    return this.db.transaction().execute(async (trx) => {
      const moved = await trx.updateTable('pacs_export_cursor').set({ seq: to }).where('id', '=', 1).where('seq', '=', from).executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) return null;
      let added = 0;
      for (const r of rows) {
        const inserted = await trx
          .insertInto('pacs_exports')
          .values({
            id: newId('px_'),
            node: r.node,
            kind: r.kind,
            study_id: r.studyId,
            audit_seq: r.auditSeq,
            sop_instance_uid: r.sopInstanceUid,
            payload_json: JSON.stringify(r.payload),
            status: r.status,
            attempts: 0,
            next_attempt_at: r.status === 'pending' ? now : null,
            last_error: r.reason ?? null,
            created_at: now,
            updated_at: now,
            sent_at: null,
          })
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst();
        added += Number(inserted.numInsertedOrUpdatedRows ?? 0);
      }
      return added;
    });
  }

  /** Pending exports whose next attempt is due, oldest due first. */
  async due(now: string, limit: number): Promise<PacsExportsTable[]> {
    return this.db
      .selectFrom('pacs_exports')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /** Takes a due row for one attempt: its due time moves to `leaseUntil` (a crash mid-send retries then). False when another took it. */
  async claim(row: PacsExportsTable, leaseUntil: string): Promise<boolean> {
    const r = await this.db
      .updateTable('pacs_exports')
      .set({ next_attempt_at: leaseUntil })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .where('next_attempt_at', '=', row.next_attempt_at)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async markSent(id: string, attempts: number, now: string): Promise<void> {
    await this.db
      .updateTable('pacs_exports')
      .set({ status: 'sent', attempts, next_attempt_at: null, last_error: null, sent_at: now, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  /** A failed attempt: pending again at `nextAttemptAt`, or dead (null) — the dead-letter list. */
  async markFailed(id: string, attempts: number, error: string, nextAttemptAt: string | null, now: string): Promise<void> {
    await this.db
      .updateTable('pacs_exports')
      .set({ status: nextAttemptAt ? 'pending' : 'dead', attempts, next_attempt_at: nextAttemptAt, last_error: error.slice(0, 1000), updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  async get(id: string): Promise<PacsExport> {
    if (!EXPORT_ID.test(id)) throw new ValidationError('invalid export id', { id: id.slice(0, 80) });
    const row = await this.db.selectFrom('pacs_exports').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('PACS export', id);
    return toExport(row);
  }

  /** Newest first, optionally of one status / study; `before` pages on from an export id. */
  async list(o: { status?: ExportStatus; studyId?: string; limit?: number; before?: string } = {}): Promise<PacsExport[]> {
    let q = this.db.selectFrom('pacs_exports').selectAll();
    if (o.status !== undefined) q = q.where('status', '=', o.status);
    if (o.studyId !== undefined) q = q.where('study_id', '=', o.studyId);
    if (o.before !== undefined) {
      const after = await this.get(o.before);
      q = q.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]));
    }
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(o.limit ?? 50)
      .execute();
    return rows.map(toExport);
  }

  /**
   * Sends a dead export again: pending, due now, with a fresh set of attempts. A pending one is only
   * brought forward. A sent or skipped one cannot be retried (409): it was delivered, or no SR can be made.
   */
  async retry(id: string, now: string): Promise<PacsExport> {
    const current = await this.get(id);
    if (current.status === 'sent' || current.status === 'skipped')
      throw new ConflictError(`export '${id}' is ${current.status}: only a dead or pending export can be retried`, { id, status: current.status });
    const r = await this.db
      .updateTable('pacs_exports')
      .set({ status: 'pending', attempts: current.status === 'dead' ? 0 : current.attempts, next_attempt_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', current.status)
      .where('updated_at', '=', current.updatedAt)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new ConflictError(`export '${id}' changed while it was being retried; try again`, { id });
    return this.get(id);
  }
}
