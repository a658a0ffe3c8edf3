// Issue 6's done-when, through HTTP (app.inject on the real app, the real WorkflowService on SQLite,
// a scripted model reader): the clinical paths (auto-finalized, adjudicated, QA sample), illegal
// transitions, two adjudicators racing, blinding (a reader cannot learn the model's read before
// committing — from the study, the worklist, the list, the audit trail or the metrics), audit
// tamper detection, and 401/403 on every workflow route. PostgreSQL races: workflow-e2e.integration.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { verifyAuditLog } from '../workflow/audit.js';
import { modelRead } from '../workflow/testing.js';
import { type ApiFixture, openApiFixture } from './testing/fixture.js';
import { adjudicationRaces, postRead, postStudy } from './testing/http.js';

let f: ApiFixture;
beforeAll(async () => {
  f = await openApiFixture();
  // The policy in force for the model that reads (FakeModelReader: cxr-oct v1): normal lungs clear at 0.9.
  await f.workflow.policies.create({
    modelName: 'cxr-oct',
    modelVersion: 1,
    rule: { thresholds: { 'lung-normal': 0.9, 'lung-covid': 0.9 }, qaFraction: 0.05 },
    by: 'test',
  });
});
afterAll(async () => {
  await f.close();
});

type Role = keyof ApiFixture['tokens'];
const get = (role: Role, url: string) => f.app.inject({ method: 'GET', url, headers: f.auth(role) });

async function newStudy(read = modelRead('lung-normal', 0.97)): Promise<string> {
  f.model.next(read);
  const res = await postStudy(f.app, f.auth('reader'));
  expect(res.statusCode).toBe(201);
  return res.json().id as string;
}

describe('the second-reader workflow over HTTP', () => {
  it('intake → blinded for the reader, not for the adjudicator → A agrees with a confident model → auto_finalized', async () => {
    const id = await newStudy(modelRead('lung-normal', 0.97));
    const blind = await get('reader', `/v1/studies/${id}`);
    expect(blind.json()).toEqual({
      id,
      modality: 'cxr',
      source: 'upload',
      datasetVersion: null,
      imageKey: expect.stringMatching(new RegExp(`^studies/${id}/image\\.png$`)),
      status: 'awaiting_a',
      priority: false,
      createdAt: expect.any(String),
      blinded: true,
      reads: {},
      finalLabel: null,
      finalizedAt: null,
    });
    expect(blind.body).not.toMatch(/cxr-oct|0\.97|probabilit|decision/);
    const adj = (await get('adjudicator', `/v1/studies/${id}`)).json();
    expect(adj).toMatchObject({
      blinded: false,
      model: { name: 'cxr-oct', version: 1 },
      reads: { model: { top: { class: 'lung-normal', probability: 0.97 } } },
    });
    expect(adj).not.toHaveProperty('decision');

    const a = await postRead(f.app, f.auth('reader'), id, 'lung-normal');
    expect(a.statusCode).toBe(200);
    expect(a.json()).toMatchObject({
      status: 'auto_finalized',
      blinded: false,
      finalLabel: 'lung-normal',
      reads: { A: { label: 'lung-normal' }, model: { label: 'lung-normal' } },
      decision: { decision: 'auto_finalized', reasons: [], qa: false },
    });
    // After committing, the reader sees what the model said.
    expect((await get('reader', `/v1/studies/${id}`)).json()).toMatchObject({ blinded: false, reads: { model: { top: { probability: 0.97 } } } });
  });

  it('A disagrees → awaiting_b (in worklist B) → B adjudicates → adjudicated with B’s label', async () => {
    const id = await newStudy(modelRead('lung-covid', 0.95));
    const a = (await postRead(f.app, f.auth('reader'), id, 'lung-normal')).json();
    expect(a).toMatchObject({ status: 'awaiting_b', finalLabel: null, decision: { decision: 'second_read', reasons: ['disagreement'], qa: false } });
    expect((await get('adjudicator', '/v1/worklists/B')).json().items.map((i: { id: string }) => i.id)).toContain(id);
    const b = await postRead(f.app, f.auth('adjudicator'), id, 'lung-covid');
    expect(b.statusCode).toBe(200);
    expect(b.json()).toMatchObject({ status: 'adjudicated', finalLabel: 'lung-covid', reads: { A: { label: 'lung-normal' }, B: { label: 'lung-covid' } } });
    expect((await get('adjudicator', '/v1/worklists/B')).json().items.map((i: { id: string }) => i.id)).not.toContain(id);
  });

  it('QA sampling: a would-be auto-finalized study whose draw falls under the QA fraction goes to B, marked qa', async () => {
    const id = await newStudy(modelRead('lung-normal', 0.99));
    f.draws.push(0.01);
    const a = (await postRead(f.app, f.auth('reader'), id, 'lung-normal')).json();
    expect(a).toMatchObject({ status: 'awaiting_b', decision: { decision: 'second_read', reasons: ['qa_sample'], qa: true } });
    expect((await get('adjudicator', '/v1/worklists/B')).json().items).toContainEqual(expect.objectContaining({ id, status: 'awaiting_b' }));
    const decision = (await get('admin', `/v1/studies/${id}/audit`)).json().entries.find((e: { event: string }) => e.event === 'decision');
    expect(decision.payload).toMatchObject({ qa: true, qaDraw: 0.01, policy: { qaFraction: 0.05, threshold: 0.9 } });
    expect((await get('engineer', '/metrics')).body).toMatch(/secondread_worklist_depth\{worklist="B_qa"\} [1-9]/);
    expect((await postRead(f.app, f.auth('adjudicator'), id, 'lung-normal')).json()).toMatchObject({ status: 'adjudicated', decision: { qa: true } });
  });

  it('illegal transitions are 409 illegal_transition and change nothing: B before A, A twice, a read on a final study', async () => {
    const id = await newStudy();
    const before = await postRead(f.app, f.auth('adjudicator'), id, 'lung-normal');
    expect([before.statusCode, before.json().code]).toEqual([409, 'illegal_transition']);
    expect(before.json().details).toMatchObject({ studyId: id, from: 'awaiting_a', event: 'read_b' });
    expect((await postRead(f.app, f.auth('reader'), id, 'lung-normal')).json().status).toBe('auto_finalized');
    const twice = await postRead(f.app, f.auth('reader'), id, 'lung-normal');
    expect([twice.statusCode, twice.json().code]).toEqual([409, 'illegal_transition']);
    const final = await postRead(f.app, f.auth('adjudicator'), id, 'lung-covid');
    expect([final.statusCode, final.json().code]).toEqual([409, 'illegal_transition']);
    expect((await get('admin', `/v1/studies/${id}`)).json()).toMatchObject({ status: 'auto_finalized', finalLabel: 'lung-normal' });
    expect((await get('admin', `/v1/studies/${id}/audit`)).json().entries.map((e: { event: string }) => e.event)).toEqual([
      'study.intake',
      'read.model',
      'read.A',
      'decision',
      'study.finalized',
    ]);
    // Roles that commit no reads.
    const engineer = await postRead(f.app, f.auth('engineer'), id, 'lung-normal');
    expect([engineer.statusCode, engineer.json().code]).toEqual([403, 'forbidden']);
  });

  it('two adjudicators racing on one study over HTTP: exactly one 200, one 409, one read B', async () => {
    const r = await adjudicationRaces(f, 4);
    expect(r.statuses).toEqual(Array(4).fill([200, 409]));
    expect(r.loserCodes).toEqual(Array(4).fill('illegal_transition'));
    expect(r.readsB).toEqual([1, 1, 1, 1]);
    expect(r.auditB).toEqual([1, 1, 1, 1]);
  });
});

describe('a reader cannot learn the model read before committing', () => {
  it('not from the study, the worklist, the study list, the audit trail, the metrics or the policies', async () => {
    const id = await newStudy(modelRead('lung-opacity', 0.88));
    const study = await get('reader', `/v1/studies/${id}`);
    expect(study.json()).toMatchObject({ blinded: true, reads: {} });
    const worklist = await get('reader', '/v1/worklists/A');
    expect(worklist.json().items).toContainEqual({ id, modality: 'cxr', priority: false, createdAt: expect.any(String), status: 'awaiting_a' });
    for (const res of [study, worklist]) expect(res.body).not.toMatch(/lung-opacity|0\.88|cxr-oct|probabilit/);
    for (const url of [`/v1/studies/${id}/audit`, '/v1/studies', `/v1/studies?status=awaiting_a`, '/v1/workflow/metrics', '/v1/policies']) {
      const res = await get('reader', url);
      expect([res.statusCode, res.json().code], url).toEqual([403, 'forbidden']);
      expect(res.body, url).not.toMatch(/lung-opacity|0\.88/);
    }
    // The image is what they read; it carries nothing else.
    expect((await get('reader', `/v1/studies/${id}/image`)).headers['content-type']).toBe('image/png');
  });
});

describe('the audit trail', () => {
  it('GET /v1/studies/:id/audit returns the chain; an edited row is found by verifyAuditLog', async () => {
    const id = await newStudy(modelRead('lung-covid', 0.93));
    await postRead(f.app, f.auth('reader'), id, 'lung-normal');
    await postRead(f.app, f.auth('adjudicator'), id, 'lung-covid');
    const entries = (await get('adjudicator', `/v1/studies/${id}/audit`)).json().entries as {
      seq: number;
      event: string;
      actor: string;
      prevHash: string;
      hash: string;
      payload: Record<string, unknown>;
    }[];
    expect(entries.map((e) => [e.event, e.actor])).toEqual([
      ['study.intake', 'user:rita'],
      ['read.model', 'model:cxr-oct@1'],
      ['read.A', 'user:rita'],
      ['decision', 'system'],
      ['read.B', 'user:adam'],
      ['study.finalized', 'system'],
    ]);
    expect(entries.every((e) => /^[0-9a-f]{64}$/.test(e.hash))).toBe(true);
    // The whole log (every study above) verifies; each entry of this study links to the one before it.
    const ok = await verifyAuditLog(f.tracking.t.db);
    expect(ok).toMatchObject({ ok: true });
    const db = f.tracking.t.db;
    for (const e of entries) {
      const prev = await db
        .selectFrom('audit_log')
        .select('hash')
        .where('seq', '=', e.seq - 1)
        .executeTakeFirst();
      expect(e.prevHash).toBe(prev?.hash ?? '0'.repeat(64));
    }

    // Someone with database access rewrites B's label in the trail.
    const readB = entries.find((e) => e.event === 'read.B')!;
    const row = await db.selectFrom('audit_log').select('payload_json').where('seq', '=', readB.seq).executeTakeFirstOrThrow();
    await db
      .updateTable('audit_log')
      .set({ payload_json: row.payload_json.replace('"lung-covid"', '"lung-normal"') })
      .where('seq', '=', readB.seq)
      .execute();
    const broken = await verifyAuditLog(db);
    expect(broken).toMatchObject({ ok: false, seq: readB.seq, reason: 'hash_mismatch', entries: readB.seq - 1 });
    expect((await get('admin', `/v1/studies/${id}/audit`)).json().entries.find((e: { seq: number }) => e.seq === readB.seq).payload.label).toBe('lung-normal');
    await db.updateTable('audit_log').set({ payload_json: row.payload_json }).where('seq', '=', readB.seq).execute();
    expect(await verifyAuditLog(db)).toMatchObject({ ok: true });
  });
});

describe('auth on every workflow route', () => {
  const ROLES: Role[] = ['reader', 'adjudicator', 'engineer', 'admin'];
  /** Route → the roles allowed (the contract's config.auth). */
  const ROUTES: { method: 'GET' | 'POST'; url: (id: string) => string; allowed: Role[] }[] = [
    { method: 'POST', url: () => '/v1/studies', allowed: ['reader', 'engineer', 'admin'] },
    { method: 'GET', url: () => '/v1/studies', allowed: ['adjudicator', 'engineer', 'admin'] },
    { method: 'GET', url: (id) => `/v1/studies/${id}`, allowed: ROLES },
    { method: 'GET', url: (id) => `/v1/studies/${id}/image`, allowed: ROLES },
    { method: 'POST', url: (id) => `/v1/studies/${id}/reads`, allowed: ['reader', 'adjudicator'] },
    { method: 'GET', url: (id) => `/v1/studies/${id}/audit`, allowed: ['adjudicator', 'engineer', 'admin'] },
    { method: 'GET', url: () => '/v1/worklists/A', allowed: ['reader', 'admin'] },
    { method: 'GET', url: () => '/v1/worklists/B', allowed: ['adjudicator', 'admin'] },
    { method: 'GET', url: () => '/v1/workflow/metrics', allowed: ['adjudicator', 'engineer', 'admin'] },
    { method: 'GET', url: () => '/v1/policies', allowed: ['adjudicator', 'engineer', 'admin'] },
    { method: 'GET', url: () => '/v1/policies/pol_x', allowed: ['adjudicator', 'engineer', 'admin'] },
  ];

  it('401 without a valid token, 403 for a role the route does not allow, through for the others', async () => {
    const id = await newStudy();
    for (const r of ROUTES) {
      const url = r.url(id);
      for (const headers of [{}, { authorization: 'Bearer sr_unknown' }]) {
        const res = await f.app.inject({ method: r.method, url, headers });
        expect([res.statusCode, res.json().code], `${r.method} ${url}`).toEqual([401, 'unauthenticated']);
      }
      for (const role of ROLES) {
        // The auth hook answers before the body is read: an empty body is enough to see 403 vs not.
        const res = await f.app.inject({ method: r.method, url, headers: f.auth(role) });
        const key = `${role} ${r.method} ${url}`;
        if (r.allowed.includes(role)) expect(res.statusCode, key).not.toBe(403);
        else expect([res.statusCode, res.json().code], key).toEqual([403, 'forbidden']);
      }
    }
    // The study was not read by anyone on the way (the POST bodies were empty).
    expect((await get('admin', `/v1/studies/${id}`)).json().status).toBe('awaiting_a');
  });
});
