// The exporter's timing and bookkeeping with fakes for the PACS, the SR writer and the origins: which
// audit entries make exports, idempotency, backoff, dead letters, retry, skipped without an origin,
// and a restart that resumes from the cursor.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type ManualClock, manualClock } from '../core/clock.js';
import type { PacsNode } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { detectionResultSrUids, detectionReviewSrUids } from '../data/dicom/sr/index.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { appendAudit, type AuditEvent } from '../workflow/audit.js';
import { PacsSendError } from './errors.js';
import { backoffDelay, type ExporterOptions, NO_FACTS_REASON, NO_ORIGIN_REASON, PacsExporter } from './exporter.js';
import { readerPseudonym, type ResultOrigin, type ResultPayload, type ResultSrWriter, srWriter } from './results.js';

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
  sopInstanceUid: (o, _s, r) =>
    `2.25.${o.instance.sopInstanceUid.replace(/\./g, '')}${{ 'model-result': '1', 'reader-result': '2', 'detection-result': '3', 'detection-review': `4${r.kind === 'detection-review' ? r.review.reviewedAt.replace(/\D/g, '') : ''}` }[r.kind]}`,
  build: (o, studyId, r) => new TextEncoder().encode(JSON.stringify({ origin: o, studyId, r })),
};

let t: TestDatabase;
let clock: ManualClock;
let origins: Map<string, ResultOrigin>;
let facts: Map<string, { columns: number; rows: number }>;
let sent: { node: string; uid: string; body: { studyId: string; r: ResultPayload; origin: ResultOrigin } }[];
let failWith: ((node: PacsNode) => Error | null) | null;

beforeEach(async () => {
  t = await openTestDatabase('sqlite');
  clock = manualClock('2026-01-01T00:00:00.000Z');
  origins = new Map();
  facts = new Map();
  sent = [];
  failWith = null;
});
afterEach(async () => {
  await t.close();
});

function exporter(o: Partial<ExporterOptions> = {}, nodes = NODES, sr = fakeSr): PacsExporter {
  return new PacsExporter(
    {
      db: t.db,
      origins: { getStudyOrigin: async (id) => origins.get(id) ?? null, getDicomFacts: async (id) => facts.get(id) ?? null },
      sr,
      nodes,
      logger: silentLogger,
      clock,
      send: async (node, file, uid) => {
        const err = failWith?.(node);
        if (err) throw err;
        // The fake writer's JSON; a real SR (the tests that use srWriter) is kept as its size only.
        const body = file[0] === 0x7b ? JSON.parse(new TextDecoder().decode(file)) : { bytes: file.length };
        sent.push({ node: node.name, uid, body });
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

const BOXES = [
  { class: 'Pleural effusion', score: 0.91, box: [100, 1800, 700.5, 2400] },
  { class: 'Nodule/Mass', score: 0.42, box: [1311.7, 802.3, 1377.9, 866.05] },
];

/** The detector's read as the workflow audits it at intake (issue 18: `read.detector`). */
async function detectorRead(id: string, detections: unknown[] = BOXES): Promise<void> {
  await audit('read.detector', id, { model: 'det-nano', version: 2, route: 'production', detections });
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

  it("sends the detector's boxes beside the model result, after the decision, in the original image's size", async () => {
    origins.set('st_1', origin(1));
    facts.set('st_1', { columns: 2048, rows: 2500 });
    await dicomStudy('st_1');
    await detectorRead('st_1');
    const x = exporter();
    // Boxes follow the model's result: none before reader A has committed (blinding).
    expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 });
    await audit('read.A', 'st_1', { label: 'lung-normal', userId: 'usr_a' });
    await audit('decision', 'st_1', { decision: 'second_read', reasons: ['disagreement'], qa: false });
    expect(await x.pass()).toEqual({ recorded: 4, sent: 4, failed: 0, dead: 0 });
    const boxes = sent.filter((s) => s.body.r.kind === 'detection-result');
    expect(boxes.map((s) => [s.node, s.uid]).sort()).toEqual([
      ['archive', '2.25.1231113'],
      ['orthanc', '2.25.1231113'],
    ]);
    expect(boxes[0]!.body.r).toEqual({
      kind: 'detection-result',
      model: { name: 'det-nano', version: '2' },
      detections: BOXES,
      observedAt: '2026-01-01T00:00:00.000Z',
      image: { columns: 2048, rows: 2500 },
    });
    expect((await x.store.list()).filter((r) => r.kind === 'detection-result')).toHaveLength(2);
    // Reading the trail again adds nothing.
    await t.db.updateTable('pacs_export_cursor').set({ seq: 0 }).execute();
    expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 });
  });

  it("with modelResultAfter 'read' sends the boxes from the detector's read at once; no boxes is a detection SR too, a failed read none", async () => {
    origins.set('st_1', origin(1));
    origins.set('st_2', origin(2));
    facts.set('st_1', { columns: 2048, rows: 2500 });
    facts.set('st_2', { columns: 2048, rows: 2500 });
    await dicomStudy('st_1');
    await detectorRead('st_1');
    await dicomStudy('st_2');
    await detectorRead('st_2', []);
    await audit('read.detector_failed', 'st_2', { error: 'boom' });
    expect(await exporter({ modelResultAfter: 'read' }, [NODES[0]!]).pass()).toMatchObject({ recorded: 4, sent: 4 });
    expect(sent.map((s) => `${s.body.studyId} ${s.body.r.kind}`).sort()).toEqual([
      'st_1 detection-result',
      'st_1 model-result',
      'st_2 detection-result',
      'st_2 model-result',
    ]);
  });

  it('an image without boxes makes a real detection SR ("no abnormality detected"), released with the decision like boxes', async () => {
    origins.set('st_1', origin(1));
    facts.set('st_1', { columns: 2048, rows: 2500 });
    await dicomStudy('st_1');
    await detectorRead('st_1', []);
    const x = exporter({}, [NODES[0]!], srWriter);
    expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 }); // blinded until A has read
    await audit('read.A', 'st_1', { label: 'lung-normal', userId: 'usr_a' });
    await audit('decision', 'st_1', { decision: 'second_read', reasons: ['disagreement'], qa: false });
    expect(await x.pass()).toEqual({ recorded: 2, sent: 2, failed: 0, dead: 0 });
    const row = (await x.store.list()).find((r) => r.kind === 'detection-result')!;
    expect(row.status).toBe('sent');
    const stored = await t.db.selectFrom('pacs_exports').select('payload_json').where('id', '=', row.id).executeTakeFirstOrThrow();
    expect(JSON.parse(stored.payload_json)).toMatchObject({ detections: [], image: { columns: 2048, rows: 2500 } });
    expect(row.sopInstanceUid).toBe(detectionResultSrUids(origin(1), { name: 'det-nano', version: '2' }).sopInstanceUid);
  });

  describe("reader B's marks on the boxes", () => {
    const pseudonym = readerPseudonym('usr_b');
    const mark = (id: string, index: number, correct: boolean, previous: boolean | null = null, userId = 'usr_b'): Promise<void> =>
      audit('box.marked', id, {
        index,
        correct,
        box: BOXES[index],
        detector: { name: 'det-nano', version: 2 },
        previous: previous === null ? null : { correct: previous, userId, at: '2026-01-01T00:00:00.000Z' },
        userId,
      });
    async function adjudicatedStudy(id: string, n: number): Promise<void> {
      origins.set(id, origin(n));
      facts.set(id, { columns: 2048, rows: 2500 });
      await dicomStudy(id);
      await detectorRead(id);
      await audit('read.A', id, { label: 'lung-normal', userId: 'usr_a' });
      await audit('decision', id, { decision: 'second_read', reasons: ['disagreement'], qa: false });
    }
    const reviews = (): ResultPayload[] => sent.filter((s) => s.body.r.kind === 'detection-review').map((s) => s.body.r);

    it("go out with B's read as a detection review beside B's label; a changed mark after it sends a new one; resends add nothing", async () => {
      await adjudicatedStudy('st_1', 1);
      const x = exporter({}, [NODES[0]!]);
      await x.pass();
      sent = [];
      await mark('st_1', 1, true);
      clock.advance(1000);
      await mark('st_1', 1, false, true); // B changes their mind before committing: the latest counts
      expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 }); // marks wait for B's read
      clock.advance(1000);
      await audit('read.B', 'st_1', { label: 'lung-opacity', userId: 'usr_b' });
      expect(await x.pass()).toEqual({ recorded: 2, sent: 2, failed: 0, dead: 0 });
      expect(sent.map((s) => s.body.r.kind).sort()).toEqual(['detection-review', 'reader-result']);
      expect(reviews()).toEqual([
        {
          kind: 'detection-review',
          model: { name: 'det-nano', version: '2' },
          detections: BOXES,
          observedAt: '2026-01-01T00:00:00.000Z',
          image: { columns: 2048, rows: 2500 },
          review: { reviewers: [pseudonym], verdicts: [null, false], reviewedAt: '2026-01-01T00:00:02.000Z' },
        },
      ]);
      // After B's read: a mark that repeats the verdict changes nothing; a new verdict is a new review.
      clock.advance(1000);
      await mark('st_1', 1, false, false);
      expect(await x.pass()).toMatchObject({ recorded: 0, sent: 0 });
      clock.advance(1000);
      await mark('st_1', 0, true, null, 'usr_b2');
      expect(await x.pass()).toMatchObject({ recorded: 1, sent: 1 });
      const later = reviews()[1]!;
      expect(later).toMatchObject({ review: { reviewers: [readerPseudonym('usr_b2'), pseudonym], verdicts: [true, false] } });
      expect(sent[2]!.uid).not.toBe(sent.find((s) => s.body.r.kind === 'detection-review')!.uid);
      // The device-only boxes SR of the decision is still the one recorded for it; a resend adds nothing.
      await t.db.updateTable('pacs_export_cursor').set({ seq: 0 }).execute();
      expect(await x.pass()).toEqual({ recorded: 0, sent: 0, failed: 0, dead: 0 });
      expect((await x.store.list()).map((r) => r.kind).sort()).toEqual([
        'detection-result',
        'detection-review',
        'detection-review',
        'model-result',
        'reader-result',
      ]);
    });

    it('B read without marking, or an image without boxes: no review', async () => {
      await adjudicatedStudy('st_1', 1);
      origins.set('st_2', origin(2));
      facts.set('st_2', { columns: 2048, rows: 2500 });
      await dicomStudy('st_2', { decide: true });
      await detectorRead('st_2', []);
      for (const id of ['st_1', 'st_2']) await audit('read.B', id, { label: 'lung-opacity', userId: 'usr_b' });
      await exporter({}, [NODES[0]!]).pass();
      expect(reviews()).toEqual([]);
      expect(sent.filter((s) => s.body.r.kind === 'reader-result')).toHaveLength(2);
    });

    it('the real writer builds the review SR with its deterministic UID (the export row and the sent instance agree)', async () => {
      await adjudicatedStudy('st_1', 1);
      await mark('st_1', 0, true);
      await audit('read.B', 'st_1', { label: 'lung-opacity', userId: 'usr_b' });
      const x = exporter({}, [NODES[0]!], srWriter);
      expect(await x.pass()).toEqual({ recorded: 4, sent: 4, failed: 0, dead: 0 });
      const row = (await x.store.list()).find((r) => r.kind === 'detection-review')!;
      const review = { reviewers: [pseudonym], verdicts: [true, null], reviewedAt: new Date(clock.now()) };
      expect(row.sopInstanceUid).toBe(detectionReviewSrUids(origin(1), { name: 'det-nano', version: '2' }, review).sopInstanceUid);
      expect(sent.find((s) => s.uid === row.sopInstanceUid)?.body).toMatchObject({ bytes: expect.any(Number) });
    });
  });

  it('skips the boxes, with the reason, without the image size or when they cannot make a valid SR', async () => {
    origins.set('st_1', origin(1));
    origins.set('st_2', origin(2));
    facts.set('st_2', { columns: 1000, rows: 1000 }); // the boxes reach past it
    for (const id of ['st_1', 'st_2']) {
      await dicomStudy(id);
      await detectorRead(id);
      await audit('read.A', id, { label: 'lung-normal', userId: 'usr_a' });
      await audit('decision', id, { decision: 'second_read', reasons: ['disagreement'], qa: false });
    }
    const x = exporter({}, [NODES[0]!], srWriter);
    expect(await x.pass()).toEqual({ recorded: 4, sent: 2, failed: 0, dead: 0 });
    const rows = (await x.store.list()).filter((r) => r.kind === 'detection-result');
    const byStudy = Object.fromEntries(rows.map((r) => [r.studyId, r]));
    expect(byStudy.st_1).toMatchObject({ status: 'skipped', sopInstanceUid: null, lastError: NO_FACTS_REASON });
    expect(byStudy.st_2).toMatchObject({ status: 'skipped', sopInstanceUid: null });
    expect(byStudy.st_2!.lastError).toMatch(/^no SR can be made: .*box 1 \(Pleural effusion\).*outside the 1000×1000 image/);
    // The model results went out as real SRs.
    expect(sent.map((s) => s.node)).toEqual(['orthanc', 'orthanc']);
    expect((await x.store.list()).filter((r) => r.kind === 'model-result').map((r) => r.status)).toEqual(['sent', 'sent']);
  });

  it('backoff doubles up to its cap', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, { backoffMs: 5000, maxBackoffMs: 30_000 }))).toEqual([5000, 10_000, 20_000, 30_000, 30_000]);
  });
});
