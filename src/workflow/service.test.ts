// The workflow on SQLite: intake with a hidden model read, blinding per role, the policy's decision,
// adjudication, QA sampling, illegal transitions, a race between two adjudicators, worklists, and an
// audit entry for every clinical event.
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { listAudit, verifyAuditLog } from './audit.js';
import type { ModelRead, WorkflowService } from './service.js';
import { modelRead, openWorkflowFixture, type WorkflowFixture } from './testing.js';

let fx: WorkflowFixture;
let draws: number[];
let wf: WorkflowService;
beforeEach(async () => {
  fx = await openWorkflowFixture('sqlite');
  draws = [];
  // QA draws are scripted; 0.5 (never sampled at 5 %) when the test did not say. The clock ticks a
  // second per reading, so intake order is the order of the calls.
  let tick = Date.parse('2026-03-01T08:00:00.000Z');
  wf = fx.service({ random: () => draws.shift() ?? 0.5, clock: { now: () => new Date((tick += 1000)) } });
  await wf.policies.create({
    modelName: 'cxr-oct',
    modelVersion: 1,
    rule: { thresholds: { 'lung-normal': 0.9, 'lung-covid': 0.8 }, alwaysDoubleRead: ['lung-tuberculosis'], qaFraction: 0.05 },
    by: 'test',
  });
});
afterEach(async () => {
  await fx.close();
});

async function intake(read: ModelRead | Error = modelRead('lung-normal', 0.97), o: { priority?: boolean } = {}) {
  fx.model.next(read);
  return wf.intake(fx.users.admin, { modality: 'cxr', image: await fx.image(), priority: o.priority });
}

describe('intake and blinding', () => {
  it('stores the image under a server-made key and reads it with the model at once, hidden from reader A', async () => {
    const s = await intake();
    expect(s.imageKey).toBe(`studies/${s.id}/image.png`);
    expect(await fx.objects.getBytes(s.imageKey)).toEqual(await fx.image());
    expect(fx.model.calls).toEqual([{ studyId: s.id, bytes: (await fx.image()).length }]);
    expect(s.status).toBe('awaiting_a');

    const forA = await wf.getStudy(fx.users.reader, s.id);
    expect(forA.blinded).toBe(true);
    expect(forA.reads).toEqual({});
    expect(forA).not.toHaveProperty('model');
    expect(forA).not.toHaveProperty('decision');
    expect(JSON.stringify(forA)).not.toMatch(/0\.97|cxr-oct/);

    const forB = await wf.getStudy(fx.users.adjudicator, s.id);
    expect(forB.blinded).toBe(false);
    expect(forB.reads.model).toMatchObject({ label: 'lung-normal', top: { class: 'lung-normal', probability: 0.97 }, model: 'cxr-oct', version: 1 });
    expect(forB.reads.model!.predictions).toHaveLength(5);
    expect(forB).not.toHaveProperty('truthClass');
    expect(await wf.getStudy(fx.users.admin, s.id)).toMatchObject({ truthClass: null, model: { name: 'cxr-oct', version: 1 } });
  });

  it('after A has read, any reader sees the model read and the decision', async () => {
    const s = await intake(modelRead('lung-normal', 0.5));
    const afterA = await wf.commitRead(fx.users.reader, s.id, { label: 'lung-normal' });
    expect(afterA.blinded).toBe(false);
    expect(afterA.reads.model?.top.probability).toBe(0.5);
    expect(afterA.decision).toMatchObject({ decision: 'second_read', reasons: ['low_confidence'], qa: false });
    expect((await wf.getStudy(fx.users.reader2, s.id)).reads.A).toMatchObject({ label: 'lung-normal', userId: fx.users.reader.id });
  });

  it('dataset studies keep their truth for ml-engineer and admin only; readers cannot create them', async () => {
    const dataset = { version: 'ds-0123456789abcdef0123', sha256: 'a'.repeat(64), truthClass: 'lung-covid' };
    const s = await wf.intake(fx.users.engineer, { modality: 'cxr', image: await fx.image(), dataset });
    expect(s).toMatchObject({ source: 'dataset', datasetVersion: dataset.version, truthClass: 'lung-covid' });
    await wf.commitRead(fx.users.reader, s.id, { label: 'lung-covid' });
    expect(await wf.getStudy(fx.users.reader, s.id)).not.toHaveProperty('truthClass');
    expect(await wf.getStudy(fx.users.adjudicator, s.id)).not.toHaveProperty('truthClass');
    await expect(wf.intake(fx.users.reader, { modality: 'cxr', image: await fx.image(), dataset })).rejects.toMatchObject({
      code: 'forbidden',
      httpStatus: 403,
    });
    await expect(wf.intake(fx.users.admin, { modality: 'cxr', image: await fx.image(), dataset: { ...dataset, truthClass: 'oct-cnv' } })).rejects.toMatchObject(
      { code: 'invalid_input' },
    );
  });

  it('refuses bad input before storing anything', async () => {
    await expect(wf.intake(fx.users.admin, { modality: 'mri', image: await fx.image() })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(wf.intake(fx.users.admin, { modality: 'cxr', image: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({ code: 'invalid_image' });
    const keys: string[] = [];
    for await (const o of fx.objects.list('')) keys.push(o.key);
    expect(keys).toEqual([]);
    await expect(wf.getStudy(fx.users.admin, '../etc')).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(wf.getStudy(fx.users.admin, 'st_nope')).rejects.toMatchObject({ code: 'not_found', httpStatus: 404 });
  });

  it('an intake whose transaction fails leaves no study and no image behind', async () => {
    // Without the audit head no entry can be appended, so the intake's transaction fails: no study without its audit entry.
    await sql`delete from audit_head`.execute(fx.t.db);
    await expect(wf.intake(fx.users.admin, { modality: 'cxr', image: await fx.image() })).rejects.toThrow();
    expect(await fx.t.db.selectFrom('studies').select('id').execute()).toEqual([]);
    const keys: string[] = [];
    for await (const o of fx.objects.list('studies/')) keys.push(o.key);
    expect(keys).toEqual([]);
    expect(fx.model.calls).toHaveLength(1);
  });

  it('a failed model read keeps the study, is audited, and forces a second read', async () => {
    const s = await intake(new Error('onnx exploded'));
    expect(s.reads.model).toBeUndefined();
    const after = await wf.commitRead(fx.users.reader, s.id, { label: 'lung-normal' });
    expect(after).toMatchObject({ status: 'awaiting_b', model: null, decision: { reasons: ['no_model_read'] } });
    expect((await listAudit(fx.t.db, { studyId: s.id })).map((e) => e.event)).toEqual(['study.intake', 'read.model_failed', 'read.A', 'decision']);
  });

  it('a malformed model read is treated as a failed one', async () => {
    const bad = modelRead('lung-normal', 0.9);
    const s = await intake({ ...bad, top: { class: 'lung-covid', probability: 0.9 } });
    expect((await wf.getStudy(fx.users.admin, s.id)).model).toBeNull();
  });
});

describe('decisions', () => {
  it("agreement above the threshold auto-finalizes with A's label", async () => {
    const s = await intake(modelRead('lung-normal', 0.97));
    const after = await wf.commitRead(fx.users.reader, s.id, { label: 'lung-normal' });
    expect(after).toMatchObject({ status: 'auto_finalized', finalLabel: 'lung-normal', decision: { decision: 'auto_finalized', reasons: [], qa: false } });
    expect(after.finalizedAt).not.toBeNull();
    await expect(wf.commitRead(fx.users.adjudicator, s.id, { label: 'lung-covid' })).rejects.toMatchObject({ code: 'illegal_transition', httpStatus: 409 });
  });

  it('disagreement goes to B, who adjudicates with the final label', async () => {
    const s = await intake(modelRead('lung-covid', 0.95));
    const afterA = await wf.commitRead(fx.users.reader, s.id, { label: 'lung-normal' });
    expect(afterA).toMatchObject({ status: 'awaiting_b', finalLabel: null, decision: { decision: 'second_read', reasons: ['disagreement'] } });
    const forB = await wf.getStudy(fx.users.adjudicator, s.id);
    expect(forB.reads.A?.label).toBe('lung-normal');
    expect(forB.reads.model?.predictions[0]).toEqual({ class: 'lung-covid', probability: 0.95 });
    const final = await wf.commitRead(fx.users.adjudicator, s.id, { label: 'lung-covid' });
    expect(final).toMatchObject({ status: 'adjudicated', finalLabel: 'lung-covid', reads: { B: { label: 'lung-covid', userId: fx.users.adjudicator.id } } });
  });

  it('QA sampling sends a would-be auto-finalized study to B, marked QA', async () => {
    const s = await intake(modelRead('lung-normal', 0.97));
    draws.push(0.01);
    const after = await wf.commitRead(fx.users.reader, s.id, { label: 'lung-normal' });
    expect(after).toMatchObject({ status: 'awaiting_b', decision: { decision: 'second_read', reasons: ['qa_sample'], qa: true } });
  });

  it('a model version without a policy never auto-finalizes', async () => {
    const s = await intake(modelRead('lung-normal', 0.99, { version: 7 }));
    expect((await wf.commitRead(fx.users.reader, s.id, { label: 'lung-normal' })).decision).toMatchObject({ reasons: ['no_policy'], policyId: null });
  });

  it('uses the newest policy of the model version in force when A commits', async () => {
    const s = await intake(modelRead('lung-normal', 0.97));
    const stricter = await wf.policies.create({ modelName: 'cxr-oct', modelVersion: 1, rule: { thresholds: { 'lung-normal': 0.98 } }, by: 'test' });
    expect(stricter.version).toBe(2);
    expect((await wf.commitRead(fx.users.reader, s.id, { label: 'lung-normal' })).decision).toMatchObject({
      reasons: ['low_confidence'],
      policyId: stricter.id,
    });
  });

  it('refuses illegal transitions, wrong roles and unknown labels', async () => {
    const s = await intake(modelRead('lung-covid', 0.95));
    await expect(wf.commitRead(fx.users.adjudicator, s.id, { label: 'lung-covid' })).rejects.toMatchObject({
      code: 'illegal_transition',
      httpStatus: 409,
      details: { from: 'awaiting_a', event: 'read_b' },
    });
    await expect(wf.commitRead(fx.users.engineer, s.id, { label: 'lung-covid' })).rejects.toMatchObject({ code: 'forbidden', httpStatus: 403 });
    await expect(wf.commitRead(fx.users.admin, s.id, { label: 'lung-covid' })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(wf.commitRead(fx.users.reader, s.id, { label: 'oct-cnv' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(wf.commitRead(fx.users.reader, s.id, { label: 42 as unknown as string })).rejects.toMatchObject({ code: 'invalid_input' });
    await wf.commitRead(fx.users.reader, s.id, { label: 'lung-normal' });
    await expect(wf.commitRead(fx.users.reader2, s.id, { label: 'lung-normal' })).rejects.toMatchObject({ code: 'illegal_transition' });
    // Nothing of the refused attempts reached the log.
    expect((await listAudit(fx.t.db, { studyId: s.id })).map((e) => e.event)).toEqual(['study.intake', 'read.model', 'read.A', 'decision']);
  });

  it('two adjudicators racing on one study: exactly one wins, the other gets 409', async () => {
    const s = await intake(modelRead('lung-covid', 0.95));
    await wf.commitRead(fx.users.reader, s.id, { label: 'lung-normal' });
    // One process, one connection: the second transaction runs after the first and finds the study adjudicated.
    const results = await Promise.allSettled([
      wf.commitRead(fx.users.adjudicator, s.id, { label: 'lung-covid' }),
      wf.commitRead(fx.users.adjudicator2, s.id, { label: 'lung-normal' }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({ code: 'illegal_transition', httpStatus: 409 });
    const final = await wf.getStudy(fx.users.admin, s.id);
    expect(final.finalLabel).toBe((won[0] as PromiseFulfilledResult<{ finalLabel: string }>).value.finalLabel);
    expect((await listAudit(fx.t.db, { studyId: s.id })).filter((e) => e.event === 'read.B')).toHaveLength(1);
    expect(await verifyAuditLog(fx.t.db)).toMatchObject({ ok: true });
  });
});

describe('worklists', () => {
  it('A lists studies awaiting A; B lists awaiting B, priority first then oldest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await intake(modelRead('lung-covid', 0.95), { priority: i === 2 })).id);
    expect((await wf.worklist(fx.users.reader, 'A')).map((w) => w.id)).toEqual([ids[2], ids[0], ids[1], ids[3]]);
    for (const id of [ids[3]!, ids[0]!, ids[2]!]) await wf.commitRead(fx.users.reader, id, { label: 'lung-normal' });
    expect((await wf.worklist(fx.users.reader, 'A')).map((w) => w.id)).toEqual([ids[1]]);
    const b = await wf.worklist(fx.users.adjudicator, 'B');
    expect(b.map((w) => w.id)).toEqual([ids[2], ids[0], ids[3]]);
    expect(b[0]).toEqual({ id: ids[2], modality: 'cxr', priority: true, createdAt: expect.any(String), status: 'awaiting_b' });
    expect(await wf.worklist(fx.users.admin, 'B', { limit: 1 })).toHaveLength(1);
  });

  it('by role', async () => {
    await expect(wf.worklist(fx.users.reader, 'B')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(wf.worklist(fx.users.adjudicator, 'A')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(wf.worklist(fx.users.engineer, 'A')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(wf.worklist(fx.users.reader, 'C' as 'A')).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(wf.worklist(fx.users.reader, 'A', { limit: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('audit trail', () => {
  it('logs every clinical event with the policy and model versions in force, and the chain verifies', async () => {
    const auto = await intake(modelRead('lung-normal', 0.97));
    await wf.commitRead(fx.users.reader, auto.id, { label: 'lung-normal' });
    const adj = await intake(modelRead('lung-covid', 0.95));
    await wf.commitRead(fx.users.reader, adj.id, { label: 'lung-normal' });
    await wf.commitRead(fx.users.adjudicator, adj.id, { label: 'lung-covid' });

    const a = await listAudit(fx.t.db, { studyId: auto.id });
    expect(a.map((e) => [e.event, e.actor])).toEqual([
      ['study.intake', 'user:boss'],
      ['read.model', 'model:cxr-oct@1'],
      ['read.A', 'user:reader-a'],
      ['decision', 'system'],
      ['study.finalized', 'system'],
    ]);
    const policy = (await wf.policies.inForce('cxr-oct', 1))!;
    expect(a[3]!.payload).toMatchObject({
      decision: 'auto_finalized',
      qaDraw: 0.5,
      policy: { id: policy.id, version: 1, qaFraction: 0.05, threshold: 0.9 },
      model: { name: 'cxr-oct', version: 1, top: { class: 'lung-normal', probability: 0.97 } },
    });
    expect(a[0]!.payload).toMatchObject({ imageKey: auto.imageKey, imageSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(a[1]!.payload).toMatchObject({ model: 'cxr-oct', version: 1, route: null, top: { class: 'lung-normal', probability: 0.97 } });
    const c = await intake({ ...modelRead('lung-normal', 0.97), route: 'canary' });
    expect((await listAudit(fx.t.db, { studyId: c.id }))[1]!.payload).toMatchObject({ route: 'canary' });
    const b = await listAudit(fx.t.db, { studyId: adj.id });
    expect(b.map((e) => e.event)).toEqual(['study.intake', 'read.model', 'read.A', 'decision', 'read.B', 'study.finalized']);
    expect(b[4]!.payload).toEqual({ label: 'lung-covid', userId: fx.users.adjudicator.id, agreesWithA: false, agreesWithModel: true });
    expect(await verifyAuditLog(fx.t.db)).toMatchObject({ ok: true, entries: 13 });
  });
});
