// The outbound results exporter (IHE AI Results back into the original study): a loop that reads the
// audit trail after its cursor (results.ts decides which entries make a result), records one export per
// result and PACS node, and sends the due ones — the SR rebuilt each time from the study's sealed origin,
// since an SR names the patient and is never stored. Idempotent by (node, SR SOP Instance UID); a failed
// send is retried with exponential backoff up to `maxAttempts`, then it is a dead letter
// (GET /v1/pacs/exports?status=dead, POST …/:id/retry). Without a stored origin (results-return was off:
// SECONDREAD_PACS_RETURN) the export is recorded as skipped, with the reason, instead of vanishing.
import { type Clock, systemClock } from '../core/clock.js';
import type { PacsNode } from '../core/config.js';
import { describeError, SecondreadError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../storage/db.js';
import type { PacsExportsTable } from '../storage/schema.js';
import { type AuditEntry, listAudit } from '../workflow/audit.js';
import { PacsSendError } from './errors.js';
import { type NewExport, type PacsExport, PacsExportStore } from './exports-store.js';
import { checkResultSr, mayMakeResult, type ModelResultAfter, type ResultOrigin, type ResultPayload, resultsOf, type ResultSrWriter } from './results.js';
import type { SendToNode } from './send.js';

export interface ExporterOptions {
  pollMs: number;
  maxAttempts: number;
  backoffMs: number;
  maxBackoffMs: number;
  modelResultAfter: ModelResultAfter;
  /** How long a claimed export stays taken before another attempt may take it (a crash mid-send). */
  leaseMs?: number;
  /** Audit entries read per pass, exports sent per pass. */
  batch?: number;
}

export interface ExporterDeps {
  db: Db;
  /**
   * WorkflowService.getStudyOrigin (Contract 1): the opened seal, or null when none was kept; getDicomFacts:
   * the study's non-identifying header facts (the original's Columns × Rows, which the detector's boxes are in).
   */
  origins: ResultSources;
  sr: ResultSrWriter;
  send: SendToNode;
  nodes: readonly PacsNode[];
  logger: Logger;
  clock?: Clock;
}

export interface ResultSources {
  getStudyOrigin(studyId: string): Promise<ResultOrigin | null>;
  getDicomFacts(studyId: string): Promise<{ columns: number; rows: number } | null>;
}

export const NO_FACTS_REASON = "the study's DICOM facts (dicom.json) are missing, so the boxes cannot be placed on the original image";

export const NO_ORIGIN_REASON =
  'no origin was kept for this study (results-return was off when it came in: set SECONDREAD_PACS_RETURN=on), so no SR can name the original study';

/** The wait before attempt `attempts + 1`: backoffMs · 2^(attempts−1), at most maxBackoffMs. */
export function backoffDelay(attempts: number, o: Pick<ExporterOptions, 'backoffMs' | 'maxBackoffMs'>): number {
  return Math.min(o.maxBackoffMs, o.backoffMs * 2 ** Math.max(0, attempts - 1));
}

export interface PassResult {
  /** Exports recorded from new audit entries (pending and skipped). */
  recorded: number;
  sent: number;
  failed: number;
  dead: number;
}

export class PacsExporter {
  readonly store: PacsExportStore;
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(
    private readonly deps: ExporterDeps,
    private readonly options: ExporterOptions,
  ) {
    this.store = new PacsExportStore(deps.db);
    this.clock = deps.clock ?? systemClock;
  }

  /** Polls every pollMs until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const names = this.deps.nodes.map((n) => (n.kind === 'dimse' ? `${n.name} (C-STORE ${n.aet}@${n.host}:${n.port})` : `${n.name} (STOW-RS)`));
    this.deps.logger.info(`PACS exporter: sending results to ${names.join(', ')}; every ${this.options.pollMs} ms`);
    const loop = (): void => {
      this.running = this.pass()
        .catch((err: unknown) => this.deps.logger.error({ err: describeError(err) }, 'PACS exporter: pass failed; trying again at the next poll'))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(loop, this.options.pollMs);
        });
    };
    loop();
  }

  /** Stops polling and waits for the pass in progress (its sends finish or fail on their own timeouts). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** The exports, newest first (GET /v1/pacs/exports). */
  list(o: Parameters<PacsExportStore['list']>[0] = {}): Promise<PacsExport[]> {
    return this.store.list(o);
  }

  /** Sends a dead export again at the next pass (POST /v1/pacs/exports/:id/retry). */
  async retry(id: string): Promise<PacsExport> {
    const r = await this.store.retry(id, this.clock.now().toISOString());
    this.deps.logger.info(`PACS exporter: ${r.kind} of study ${r.studyId} to ${r.node} will be sent again (export ${r.id})`);
    return r;
  }

  /** One pass: record the results of new audit entries, then send what is due. */
  async pass(): Promise<PassResult> {
    const recorded = await this.scan();
    return { recorded, ...(await this.sendDue()) };
  }

  /** Reads the audit trail after the cursor and records one export per result and node. */
  async scan(): Promise<number> {
    let total = 0;
    for (;;) {
      const from = await this.store.cursor();
      const entries = await listAudit(this.deps.db, { afterSeq: from, limit: this.options.batch ?? 200 });
      if (entries.length === 0) return total;
      const rows: NewExport[] = [];
      for (const entry of entries) rows.push(...(await this.exportsOf(entry)));
      const now = this.clock.now().toISOString();
      // Another exporter moved the cursor first: it recorded these entries; read on from where it is.
      total += (await this.store.record(rows, from, entries.at(-1)!.seq, now)) ?? 0;
    }
  }

  private async exportsOf(entry: AuditEntry): Promise<NewExport[]> {
    if (!mayMakeResult(entry.event, this.options.modelResultAfter) || entry.studyId === null) return [];
    const studyId = entry.studyId;
    const trail = await listAudit(this.deps.db, { studyId, limit: 1000 });
    const rows: NewExport[] = [];
    for (const result of resultsOf(entry, trail, this.options.modelResultAfter)) rows.push(...(await this.exportsOfResult(entry, studyId, result)));
    return rows;
  }

  private async exportsOfResult(entry: AuditEntry, studyId: string, found: ResultPayload): Promise<NewExport[]> {
    const rows = (result: ResultPayload, outcome: Pick<NewExport, 'sopInstanceUid' | 'status' | 'reason'>): NewExport[] =>
      this.deps.nodes.map((n) => ({ kind: result.kind, studyId, auditSeq: entry.seq, payload: result, node: n.name, ...outcome }));
    const skipped = (result: ResultPayload, reason: string): NewExport[] => {
      this.deps.logger.warn(`PACS exporter: study ${studyId}: ${result.kind} not sent: ${reason}`);
      return rows(result, { sopInstanceUid: null, status: 'skipped', reason });
    };
    let result = found;
    if (result.kind === 'detection-result' || result.kind === 'detection-review') {
      // The boxes are in the original's pixels: the SR checks them against its Columns × Rows, kept in the study's DICOM facts.
      const facts = await this.deps.origins.getDicomFacts(studyId);
      if (!facts) return skipped(result, NO_FACTS_REASON);
      result = { ...result, image: { columns: facts.columns, rows: facts.rows } };
    }
    const origin = await this.deps.origins.getStudyOrigin(studyId);
    if (!origin) return skipped(result, NO_ORIGIN_REASON);
    let sopInstanceUid: string;
    try {
      sopInstanceUid = this.deps.sr.sopInstanceUid(origin, studyId, result);
      // A result that cannot make a valid SR (a box outside the image) is skipped now, not retried to a dead letter.
      checkResultSr(result);
    } catch (err) {
      return skipped(result, `no SR can be made: ${describeError(err)}`);
    }
    return rows(result, { sopInstanceUid, status: 'pending' });
  }

  /** Sends the exports that are due, one at a time (a PACS is better served by a steady trickle). */
  async sendDue(): Promise<Omit<PassResult, 'recorded'>> {
    const out = { sent: 0, failed: 0, dead: 0 };
    const now = this.clock.now();
    const due = await this.store.due(now.toISOString(), this.options.batch ?? 200);
    for (const row of due) {
      const lease = new Date(now.getTime() + (this.options.leaseMs ?? 300_000)).toISOString();
      if (!(await this.store.claim(row, lease))) continue;
      const r = await this.attempt(row);
      out[r]++;
    }
    return out;
  }

  private async attempt(row: PacsExportsTable): Promise<'sent' | 'failed' | 'dead'> {
    const { logger } = this.deps;
    const attempts = row.attempts + 1;
    const what = `${row.kind} of study ${row.study_id} to ${row.node}`;
    try {
      const node = this.deps.nodes.find((n) => n.name === row.node);
      if (!node) throw new PacsSendError(row.node, 'the node is no longer configured (pacs.nodes)', { retryable: false });
      const origin = await this.deps.origins.getStudyOrigin(row.study_id);
      if (!origin) throw new PacsSendError(row.node, NO_ORIGIN_REASON, { retryable: false });
      const bytes = this.deps.sr.build(origin, row.study_id, JSON.parse(row.payload_json) as ResultPayload);
      await this.deps.send(node, bytes, row.sop_instance_uid!);
      await this.store.markSent(row.id, attempts, this.clock.now().toISOString());
      logger.info(`PACS exporter: sent ${what} (SR ${row.sop_instance_uid}, attempt ${attempts})`);
      return 'sent';
    } catch (err) {
      // A node's refusal says itself whether to retry; a 4xx of ours (an SR that cannot be built from this
      // input) fails the same way every time; anything else (a server fault) may pass.
      const retryable = err instanceof PacsSendError ? err.retryable : !(err instanceof SecondreadError && err.httpStatus < 500);
      const message = describeError(err);
      const nowMs = this.clock.now().getTime();
      if (retryable && attempts < this.options.maxAttempts) {
        const next = new Date(nowMs + backoffDelay(attempts, this.options)).toISOString();
        await this.store.markFailed(row.id, attempts, message, next, new Date(nowMs).toISOString());
        logger.warn(`PACS exporter: ${what} failed (attempt ${attempts} of ${this.options.maxAttempts}), next try at ${next}: ${message}`);
        return 'failed';
      }
      await this.store.markFailed(row.id, attempts, message, null, new Date(nowMs).toISOString());
      logger.error(
        `PACS exporter: ${what} is a dead letter after ${attempts} attempt(s)${retryable ? '' : ' (refused: retrying cannot help)'}: ${message}. POST /v1/pacs/exports/${row.id}/retry sends it again`,
      );
      return 'dead';
    }
  }
}
