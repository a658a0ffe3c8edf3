// Which audit entries make a result for the PACS, and what that result says. Read from the append-only
// audit trail alone (workflow/audit.ts), so the exporter needs no hook in the workflow and a restart
// resumes where it stopped:
// - the model's read → a model result SR. By default it leaves with the policy's `decision` (after reader
//   A's read): the SR then carries the decision, and the model's answer cannot reach reader A through the
//   PACS viewer before A has read (blinded double reading). `modelResultAfter: 'read'` sends it at once.
// - reader B's read (`read.B`) → a reader result SR with B's final label, B named by a pseudonym.
// Only studies that came in as DICOM go back (an uploaded PNG has no study in any PACS).
import { sha256Hex } from '../core/ids.js';
import type { SrOrigin } from '../data/dicom/sr/index.js';
import {
  buildModelResultSr,
  buildReaderResultSr,
  type ModelResultSrInput,
  modelResultSrUids,
  type ReaderResultSrInput,
  readerResultSrUids,
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
  | { kind: 'reader-result'; reader: { pseudonym: string; role: 'B' }; finalLabel: string; decidedAt: string };

export type ModelResultAfter = 'decision' | 'read';

/** The audit events that can make a result (the exporter reads a study's trail only for these). */
export function mayMakeResult(event: string, after: ModelResultAfter): boolean {
  return event === 'read.B' || event === (after === 'decision' ? 'decision' : 'read.model');
}

interface ModelReadPayload {
  model: string;
  version: number;
  top: { class: string };
  predictions: { class: string; probability: number }[];
}

/**
 * The result an audit entry makes, given its study's trail (entries in seq order), or null: not a
 * result event, not a DICOM study, or a decision without a model read (the model failed at intake).
 */
export function resultOf(entry: AuditEntry, trail: readonly AuditEntry[], after: ModelResultAfter): ResultPayload | null {
  if (!mayMakeResult(entry.event, after) || entry.studyId === null) return null;
  const intake = trail.find((e) => e.event === 'study.intake');
  if (!intake || !(intake.payload as { dicom?: unknown }).dicom) return null;
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

export const srWriter: ResultSrWriter = {
  sopInstanceUid(origin, _studyId, r) {
    return r.kind === 'model-result'
      ? modelResultSrUids(origin, r.model).sopInstanceUid
      : readerResultSrUids({ origin, reader: r.reader, finalLabel: r.finalLabel, decidedAt: new Date(r.decidedAt) }).sopInstanceUid;
  },
  build(origin, studyId, r) {
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
