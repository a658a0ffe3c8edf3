// The detector's part of the model's read on SQLite: a CXR study is also read by the configured detector, its
// boxes follow the model read's blinding (reader A sees none before committing), a failing or malformed
// detector fails only the box read, and reader B's marks on the boxes are checked, stored, audited and carried
// into the feedback selection as box labels.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { listAudit, verifyAuditLog } from './audit.js';
import { finalizedStudies } from './feedback.js';
import type { WorkflowService } from './service.js';
import { boxRead, FakeBoxReader, modelRead, openWorkflowFixture, type WorkflowFixture } from './testing.js';

let fx: WorkflowFixture;
let det: FakeBoxReader;
let wf: WorkflowService;
beforeEach(async () => {
  fx = await openWorkflowFixture('sqlite');
  det = new FakeBoxReader();
  let tick = Date.parse('2026-03-01T08:00:00.000Z');
  // No policy in force: every study A reads goes to B (no_policy), so B can mark its boxes.
  wf = fx.service({ detector: det, random: () => 0.5, clock: { now: () => new Date((tick += 1000)) } });
});
afterEach(async () => {
  await fx.close();
});

async function cxr(by = fx.users.reader) {
  fx.model.next(modelRead('lung-opacity', 0.8));
  return wf.intake(by, { modality: 'cxr', image: await fx.image() });
}

describe('the detector reads CXR studies at intake', () => {
  it('stores its boxes with the model read; reader A sees none of them before committing, B and A after do', async () => {
    const taken = await cxr();
    expect(det.calls).toEqual([taken.id]);
    // The reader who took the study in is answered blinded too.
    expect(taken.blinded).toBe(true);
    const forA = await wf.getStudy(fx.users.reader, taken.id);
    expect(forA.reads).toEqual({});
    expect(forA).not.toHaveProperty('boxRead');
    expect(JSON.stringify(forA)).not.toMatch(/Cardiomegaly|Nodule|cxr-det|0\.91|detections|box/);

    const forB = await wf.getStudy(fx.users.adjudicator, taken.id);
    expect(forB.reads.model!.detections).toEqual(boxRead().detections);
    expect(forB.reads.model!.detector).toEqual({ name: 'cxr-det', version: 2 });
    expect(forB.reads.model!.boxMarks).toEqual([]);
    expect(forB.boxRead).toEqual({ status: 'read', detector: { name: 'cxr-det', version: 2 }, boxes: 3 });
    // Nor does the oversight list leak them to a reader: readers cannot list; B's list carries them.
    expect((await wf.listStudies(fx.users.adjudicator)).find((s) => s.id === taken.id)!.reads.model!.detections).toHaveLength(3);

    await wf.commitRead(fx.users.reader, taken.id, { label: 'lung-normal' });
    expect((await wf.getStudy(fx.users.reader, taken.id)).reads.model!.detections).toHaveLength(3);

    const events = (await listAudit(fx.t.db, { studyId: taken.id })).map((e) => [e.event, e.actor]);
    expect(events.slice(0, 3)).toEqual([
      ['study.intake', 'user:reader-a'],
      ['read.model', 'model:cxr-oct@1'],
      ['read.detector', 'model:cxr-det@2'],
    ]);
  });

  it('OCT studies are not sent to the detector; without a detector nothing about boxes appears', async () => {
    fx.model.next(modelRead('oct-cnv', 0.9));
    const oct = await wf.intake(fx.users.admin, { modality: 'oct', image: await fx.image() });
    expect(det.calls).toEqual([]);
    expect(oct.reads.model).not.toHaveProperty('detections');
    expect(oct).not.toHaveProperty('boxRead');

    const plain = fx.service();
    fx.model.next(modelRead('lung-normal', 0.9));
    const s = await plain.intake(fx.users.admin, { modality: 'cxr', image: await fx.image() });
    expect(s.reads.model).not.toHaveProperty('detections');
    expect(s).not.toHaveProperty('boxRead');
    expect((await listAudit(fx.t.db, { studyId: s.id })).map((e) => e.event)).toEqual(['study.intake', 'read.model']);
  });

  it('a failing or malformed detector fails the box read only: the study is taken in and the failure recorded', async () => {
    det.next(new Error('detector down'));
    const failed = await cxr(fx.users.admin);
    expect(failed.status).toBe('awaiting_a');
    expect(failed.reads.model!.label).toBe('lung-opacity');
    expect(failed.reads.model).not.toHaveProperty('detections');
    expect(failed.boxRead).toEqual({ status: 'failed', detector: null, boxes: 0 });
    const entries = await listAudit(fx.t.db, { studyId: failed.id });
    expect(entries.at(-1)).toMatchObject({ event: 'read.detector_failed', actor: 'system', payload: { error: expect.stringContaining('detector down') } });

    for (const bad of [
      { ...boxRead(), detections: [{ class: 'Cardiomegaly', score: 1.5, box: [0, 0, 1, 1] }] },
      { ...boxRead(), detections: [{ class: 'Cardiomegaly', score: 0.5, box: [5, 0, 1, 1] }] },
      { ...boxRead(), detections: [{ class: 'Cardiomegaly', score: 0.5, box: [0, 0, Number.NaN, 1] }] },
      { ...boxRead(), version: 1.5 },
    ]) {
      det.next(bad as never);
      const s = await cxr(fx.users.admin);
      expect(s.boxRead).toMatchObject({ status: 'failed' });
    }
    expect((await verifyAuditLog(fx.t.db)).ok).toBe(true);
  });

  it('boxes are kept best first, whatever order the detector answered in', async () => {
    const r = boxRead();
    det.next({ ...r, detections: [...r.detections].reverse() });
    const s = await cxr(fx.users.admin);
    expect(s.reads.model!.detections!.map((d) => d.score)).toEqual([0.91, 0.62, 0.4]);
  });
});

describe('reader B marks boxes', () => {
  async function atB() {
    const s = await cxr();
    await wf.commitRead(fx.users.reader, s.id, { label: 'lung-normal' });
    expect((await wf.getStudy(fx.users.adjudicator, s.id)).status).toBe('awaiting_b');
    return s.id;
  }

  it('stores each verdict (the latest counts), audits every mark with the one it replaced', async () => {
    const id = await atB();
    await wf.markBox(fx.users.adjudicator, id, 0, { correct: true });
    await wf.markBox(fx.users.adjudicator, id, 1, { correct: true });
    const v = await wf.markBox(fx.users.adjudicator2, id, 1, { correct: false });
    expect(v.reads.model!.boxMarks).toEqual([
      { index: 0, correct: true, userId: fx.users.adjudicator.id, at: expect.any(String) },
      { index: 1, correct: false, userId: fx.users.adjudicator2.id, at: expect.any(String) },
    ]);
    const marks = (await listAudit(fx.t.db, { studyId: id })).filter((e) => e.event === 'box.marked');
    expect(marks.map((e) => [e.actor, e.payload])).toEqual([
      ['user:reader-b', expect.objectContaining({ index: 0, correct: true, previous: null, box: boxRead().detections[0] })],
      ['user:reader-b', expect.objectContaining({ index: 1, correct: true, previous: null })],
      [
        'user:reader-d',
        expect.objectContaining({ index: 1, correct: false, previous: expect.objectContaining({ correct: true, userId: fx.users.adjudicator.id }) }),
      ],
    ]);
    expect((await verifyAuditLog(fx.t.db)).ok).toBe(true);

    // After B's read the marks can still be set (B may finish the label first), and they become box labels.
    await wf.commitRead(fx.users.adjudicator, id, { label: 'lung-opacity' });
    await wf.markBox(fx.users.adjudicator, id, 2, { correct: true });
    const [f] = await finalizedStudies(fx.t.db);
    expect(f!.boxLabels).toEqual([
      { ...boxRead().detections[0]!, correct: true, detector: { name: 'cxr-det', version: 2 } },
      { ...boxRead().detections[1]!, correct: false, detector: { name: 'cxr-det', version: 2 } },
      { ...boxRead().detections[2]!, correct: true, detector: { name: 'cxr-det', version: 2 } },
    ]);
  });

  it('only the adjudicator, only at B, only existing boxes, only a boolean verdict', async () => {
    const early = await cxr();
    await expect(wf.markBox(fx.users.adjudicator, early.id, 0, { correct: true })).rejects.toMatchObject({ code: 'illegal_transition', httpStatus: 409 });
    const id = await atB();
    for (const u of [fx.users.reader, fx.users.admin, fx.users.engineer])
      await expect(wf.markBox(u, id, 0, { correct: true })).rejects.toMatchObject({ code: 'forbidden', httpStatus: 403 });
    for (const index of [3, -1, 0.5, Number.NaN])
      await expect(wf.markBox(fx.users.adjudicator, id, index, { correct: true })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(wf.markBox(fx.users.adjudicator, id, 0, { correct: 'yes' as never })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(wf.markBox(fx.users.adjudicator, 'st_nope', 0, { correct: true })).rejects.toMatchObject({ httpStatus: 404 });

    det.next(new Error('down'));
    const noBoxes = await cxr();
    await wf.commitRead(fx.users.reader, noBoxes.id, { label: 'lung-normal' });
    await expect(wf.markBox(fx.users.adjudicator, noBoxes.id, 0, { correct: true })).rejects.toMatchObject({ code: 'no_boxes', httpStatus: 409 });
    expect((await listAudit(fx.t.db, {})).filter((e) => e.event === 'box.marked')).toEqual([]);
  });
});
