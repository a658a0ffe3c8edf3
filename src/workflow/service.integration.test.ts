// The workflow on PostgreSQL with two connection pools (two API processes): adjudicators racing on the
// same study — exactly one wins, the other gets 409 — and A reads committed concurrently on different
// studies, whose audit entries still form one unbroken chain.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import type { Db } from '../storage/db.js';
import { listAudit, verifyAuditLog } from './audit.js';
import type { WorkflowService } from './service.js';
import { modelRead, openWorkflowFixture, type WorkflowFixture } from './testing.js';

const url = await postgresUrlForTests();

describe.skipIf(!url)('workflow on PostgreSQL', () => {
  let fx: WorkflowFixture;
  let other: Db;
  let one: WorkflowService;
  let two: WorkflowService;
  beforeAll(async () => {
    fx = await openWorkflowFixture('postgres');
    other = fx.t.openAnother();
    one = fx.service({ random: () => 0.5 });
    two = fx.service({ db: other, random: () => 0.5 });
    await one.policies.create({ modelName: 'cxr-oct', modelVersion: 1, rule: { thresholds: { 'lung-normal': 0.9 } }, by: 'test' });
  });
  afterAll(async () => {
    await other?.destroy();
    await fx?.close();
  });

  async function intake(n: number, read = modelRead('lung-covid', 0.95)): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      fx.model.next(read);
      ids.push((await one.intake(fx.users.admin, { modality: 'cxr', image: await fx.image(i) })).id);
    }
    return ids;
  }

  it('A reads on different studies from two pools at once: all commit, one audit chain', async () => {
    const ids = await intake(12);
    const results = await Promise.allSettled(ids.map((id, i) => (i % 2 ? two : one).commitRead(fx.users.reader, id, { label: 'lung-normal' })));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await verifyAuditLog(fx.t.db)).toMatchObject({ ok: true, entries: 12 * 2 + 12 * 2 });
  });

  it('two adjudicators racing on one study, from two pools: exactly one wins, the other gets 409', async () => {
    const ids = await intake(8);
    for (const id of ids) await one.commitRead(fx.users.reader, id, { label: 'lung-normal' });
    const losers: string[] = [];
    for (const id of ids) {
      const results = await Promise.allSettled([
        one.commitRead(fx.users.adjudicator, id, { label: 'lung-covid' }),
        two.commitRead(fx.users.adjudicator2, id, { label: 'lung-viral-pneumonia' }),
      ]);
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toMatchObject({ code: 'illegal_transition', httpStatus: 409 });
      losers.push((lost[0]!.reason as Error).message);
      const reads = await fx.t.db.selectFrom('reads').select(['reader', 'label']).where('study_id', '=', id).where('reader', '=', 'B').execute();
      expect(reads).toHaveLength(1);
      expect((await one.getStudy(fx.users.admin, id)).finalLabel).toBe(reads[0]!.label);
      expect((await listAudit(fx.t.db, { studyId: id })).filter((e) => e.event === 'read.B')).toHaveLength(1);
    }
    // The races really overlapped: at least one loser got past the state check and lost the compare-and-set.
    expect(losers.some((m) => /another read won/.test(m))).toBe(true);
    expect(await verifyAuditLog(fx.t.db)).toMatchObject({ ok: true });
  });

  it('policies created concurrently from two pools get distinct consecutive versions', async () => {
    const created = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? two : one).policies.create({ modelName: 'cxr-oct', modelVersion: 9, rule: { thresholds: { 'lung-normal': 0.5 + i / 100 } }, by: 'test' }),
      ),
    );
    expect(created.map((p) => p.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await one.policies.inForce('cxr-oct', 9))?.version).toBe(6);
  });

  it('tampering is detected on PostgreSQL too', async () => {
    await sql`update audit_log set at = ${'2020-01-01T00:00:00.000Z'} where seq = 7`.execute(fx.t.db);
    expect(await verifyAuditLog(fx.t.db)).toMatchObject({ ok: false, seq: 7, reason: 'hash_mismatch', entries: 6 });
  });
});
