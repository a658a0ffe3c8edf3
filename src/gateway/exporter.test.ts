// The exporter's timing and bookkeeping with fakes for the PACS, the SR writer and the origins: which
// audit entries make exports, idempotency, backoff, dead letters, retry, skipped without an origin,
// and a restart that resumes from the cursor.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type ManualClock, manualClock } from '../core/clock.js';
import type { PacsNode } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { appendAudit, type AuditEvent } from '../workflow/audit.js';
import { PacsSendError } from './errors.js';
import { backoffDelay, type ExporterOptions, NO_ORIGIN_REASON, PacsExporter } from './exporter.js';
import { readerPseudonym, type ResultOrigin, type ResultPayload, type ResultSrWriter } from './results.js';

const NODES: PacsNode[] = [
  { name: 'orthanc', kind: 'dicomweb', url: 'http://pacs.example/dicom-web' },
  { name: 'archive', kind: 'dimse', aet: 'ARCHIVE', host: '10.0.0.9', port: 104 },
];
const OPTIONS: ExporterOptions = { pollMs: 1000, maxAttempts: 3, backoffMs: 1000, maxBackoffMs: 60_000, modelResultAfter: 'decision' };

function origin(n: number): ResultOrigin {
  return {
    patient: { id: `PID${n}`, name: `Doe^Jane${n}` },
    study: { studyInstanceUid: `1.2.3.${n}` },
    series: { seriesInstanceUid: `1.2.3.${n}.1`, modality: 'CR' },
    instance: { sopClassUid: '1.2.840.10008.5.1.4.1.1.1', sopInstanceUid: `1.2.3.${n}.1.1` },
  };
}

/** A fake SR writer: the "SR" is the JSON of what it would say, its UID derived like the real one (same input → same UID). */
const fakeSr: ResultSrWriter = {
  sopInstanceUid: (o, _s, r) => `2.25.${o.instance.sopInstanceUid.replace(/\./g, '')}${r.kind === 'model-result' ? '1' : '2'}`,
  build: (o, studyId, r) => new TextEncoder().encode(JSON.stringify({ origin: o, studyId, r })),
};

let t: TestDatabase;
let clock: ManualClock;
let origins: Map<string, ResultOrigin>;
let sent: { node: string; uid: string; body: { studyId: string; r: ResultPayload; origin: ResultOrigin } }[];
let failWith: ((node: PacsNode) => Error | null) | null;

beforeEach(async () => {
  t = await openTestDatabase('sqlite');
  clock = manualClock('2026-01-01T00:00:00.000Z');
  origins = new Map();
  sent = [];
  failWith = null;
});
afterEach(async () => {
  await t.close();
});

function exporter(o: Partial<ExporterOptions> = {}, nodes = NODES): PacsExporter {
  return new PacsExporter(
    {
      db: t.db,
      origins: { getStudyOrigin: async (id) => origins.get(id) ?? null },
      sr: fakeSr,
      nodes,
      logger: silentLogger,
      clock,
      send: async (node, file, uid) => {
        const err = failWith?.(node);
        if (err) throw err;
        sent.push({ node: node.name, uid, body: JSON.parse(new TextDecoder().decode(file)) });
      },
    },
    { ...OPTIONS, ...o },
  );
}

async function audit(event: AuditEvent, studyId: string, payload: Record<string, unknown>): Promise<void> {
  await t.db.transaction().execute((trx) => appendAudit(trx, { at: clock.now().toISOString(), actor: 'system', event, studyId, payload }));
}

const READ = { model: 'cxr-vit', version: 3, route: 'production', top: { class: 'lung-covid', probability: 0.8 }, predictions: [{ class: 'lung-covid', probability: 0.8 }, { class: 'lung-normal', probability: 0.2 }] }; // prettier-ignore

/** A DICOM study read by the model; with `decide`, reader A's read and the policy's decision too. */
async function dicomStudy(id: string, o: { decide?: boolean; dicom?: boolean } = {}): Promise<void> {
  await audit('study.intake', id, { modality: 'cxr', ...(o.dicom === false ? {} : { dicom: { modality: 'CR', deidentified: true } }) });
  await audit('read.model', id, READ);
  if (o.decide) {
    await audit('read.A', id, { label: 'lung-normal', userId: 'usr_a' });
    await audit('decision', id, { decision: 'second_read', reasons: ['disagreement'], qa: false });
  }
}

describe('PacsExporter', () => {
  it('sends the model result after the decision to every node, once', async () => {
    origins.set('st_1', origin(1));
    await dicomStudy('st_1');
    const x = exporter();
    // The model has read, but reader A has not: nothing may reach the PACS yet (blinding).
    expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 });
    await audit('read.A', 'st_1', { label: 'lung-normal', userId: 'usr_a' });
    await audit('decision', 'st_1', { decision: 'second_read', reasons: ['disagreement'], qa: false });
    expect(await x.pass()).toEqual({ recorded: 2, sent: 2, failed: 0, dead: 0 });
    expect(sent.map((s) => s.node).sort()).toEqual(['archive', 'orthanc']);
    expect(sent[0]!.body.r).toEqual({
      kind: 'model-result',
      model: { name: 'cxr-vit', version: '3' },
      predictions: READ.predictions,
      top: 'lung-covid',
      decision: { decision: 'second_read', reasons: ['disagreement'] },
      observedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(sent[0]!.body.origin).toEqual(origin(1));
    const rows = await x.store.list();
    expect(rows.map((r) => [r.status, r.attempts, r.sopInstanceUid])).toEqual([
      ['sent', 1, '2.25.1231111'],
      ['sent', 1, '2.25.1231111'],
    ]);
    // Nothing new: nothing is sent again; reading the whole trail again records nothing twice.
    expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 });
    await t.db.updateTable('pacs_export_cursor').set({ seq: 0 }).execute();
    expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 });
    expect(await x.store.list()).toHaveLength(2);
  });

  it("with modelResultAfter 'read' sends at once, without a decision", async () => {
    origins.set('st_1', origin(1));
    await dicomStudy('st_1');
    expect(await exporter({ modelResultAfter: 'read' }).pass()).toMatchObject({ recorded: 2, sent: 2 });
    expect(sent[0]!.body.r).not.toHaveProperty('decision');
  });

  it("sends reader B's final label under a pseudonym", async () => {
    origins.set('st_1', origin(1));
    await dicomStudy('st_1', { decide: true });
    await audit('read.B', 'st_1', { label: 'lung-covid', userId: 'usr_b' });
    await exporter({}, [NODES[0]!]).pass();
    const reader = sent.find((s) => s.body.r.kind === 'reader-result')!;
    expect(reader.body.r).toEqual({
      kind: 'reader-result',
      reader: { pseudonym: readerPseudonym('usr_b'), role: 'B' },
      finalLabel: 'lung-covid',
      decidedAt: expect.any(String),
    });
    expect(JSON.stringify(reader.body.r)).not.toContain('usr_b');
    expect(readerPseudonym('usr_b')).toMatch(/^reader-[0-9a-f]{12}$/);
  });

  it('records nothing for a study that did not come in as DICOM, or whose model read failed', async () => {
    await dicomStudy('st_png', { decide: true, dicom: false });
    await audit('study.intake', 'st_failed', { modality: 'cxr', dicom: { modality: 'CR' } });
    await audit('read.model_failed', 'st_failed', { error: 'boom' });
    await audit('decision', 'st_failed', { decision: 'second_read', reasons: ['no_model_read'] });
    expect(await exporter().pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 });
  });

  it('records an export as skipped, with the reason, when no origin was kept', async () => {
    await dicomStudy('st_1', { decide: true });
    const x = exporter();
    expect(await x.pass()).toEqual({ recorded: 2, sent: 0, failed: 0, dead: 0 });
    const rows = await x.store.list();
    expect(rows.map((r) => [r.status, r.sopInstanceUid, r.lastError])).toEqual([
      ['skipped', null, NO_ORIGIN_REASON],
      ['skipped', null, NO_ORIGIN_REASON],
    ]);
    expect(NO_ORIGIN_REASON).toContain('SECONDREAD_PACS_RETURN=on');
    await expect(x.store.retry(rows[0]!.id, clock.now().toISOString())).rejects.toMatchObject({ code: 'conflict' });
  });

  it('retries with exponential backoff, then dead-letters; a retry sends it again', async () => {
    origins.set('st_1', origin(1));
    await dicomStudy('st_1', { decide: true });
    failWith = (node) => (node.name === 'archive' ? new PacsSendError('archive', 'connection refused', { retryable: true }) : null);
    const x = exporter();
    expect(await x.pass()).toEqual({ recorded: 2, sent: 1, failed: 1, dead: 0 });
    const archive = async () => (await x.store.list()).find((r) => r.node === 'archive')!;
    expect(await archive()).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: '2026-01-01T00:00:01.000Z' });
    expect((await archive()).lastError).toContain('connection refused');
    // Not due yet: not attempted.
    clock.advance(999);
    expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 });
    clock.advance(1);
    expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 1, dead: 0 });
    expect(await archive()).toMatchObject({ attempts: 2, nextAttemptAt: '2026-01-01T00:00:03.000Z' });
    clock.advance(2000);
    expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 1 });
    const dead = await archive();
    expect(dead).toMatchObject({ status: 'dead', attempts: 3, nextAttemptAt: null });
    expect((await x.store.list({ status: 'dead' })).map((r) => r.id)).toEqual([dead.id]);
    clock.advance(3_600_000);
    expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 });

    failWith = null;
    expect(await x.store.retry(dead.id, clock.now().toISOString())).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await x.pass()).toEqual({ recorded: 0, sent: 1, failed: 0, dead: 0 });
    expect(await archive()).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
    expect(sent.filter((s) => s.node === 'archive')).toHaveLength(1);
  });

  it('dead-letters at once what the node refuses (retrying cannot help)', async () => {
    origins.set('st_1', origin(1));
    await dicomStudy('st_1', { decide: true });
    failWith = () => new PacsSendError('x', 'C-STORE failed with status 0x0122', { retryable: false, status: 0x0122 });
    expect(await exporter().pass()).toEqual({ recorded: 2, sent: 0, failed: 0, dead: 2 });
  });

  it('resumes from its cursor after a restart, and a second exporter sends nothing twice', async () => {
    origins.set('st_1', origin(1));
    origins.set('st_2', origin(2));
    await dicomStudy('st_1', { decide: true });
    await exporter().pass();
    await dicomStudy('st_2', { decide: true });
    const [a, b] = [exporter(), exporter()];
    const results = await Promise.all([a.pass(), b.pass()]);
    expect(results.reduce((n, r) => n + r.sent, 0)).toBe(2);
    expect(sent).toHaveLength(4);
    expect(new Set(sent.map((s) => `${s.node} ${s.uid}`)).size).toBe(4);
  });

  it('polls until stopped', async () => {
    origins.set('st_1', origin(1));
    await dicomStudy('st_1', { decide: true });
    const x = exporter({ pollMs: 50 });
    x.start();
    for (let i = 0; i < 200 && sent.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await x.stop();
    expect(sent).toHaveLength(2);
  });

  it('backoff doubles up to its cap', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, { backoffMs: 5000, maxBackoffMs: 30_000 }))).toEqual([5000, 10_000, 20_000, 30_000, 30_000]);
  });
});
