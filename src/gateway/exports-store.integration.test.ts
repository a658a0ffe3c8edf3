// The pacs_exports store on PostgreSQL (migration 0007 on the second dialect), with two connection pools
// as two exporter processes would have: recording the same audit entries twice adds nothing (unique by
// event and by node + SOP Instance UID, skipped rows with a NULL UID never collide), only one of two
// exporters moves the cursor and only one claims a due row; failure, dead letter and retry round-trip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import type { Db } from '../storage/db.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { type NewExport, PacsExportStore } from './exports-store.js';

const url = await postgresUrlForTests();

describe.skipIf(!url)('pacs_exports on PostgreSQL', () => {
  let t: TestDatabase;
  let other: Db;
  beforeAll(async () => {
    t = await openTestDatabase('postgres', { url });
    other = t.openAnother();
  });
  afterAll(async () => {
    await other?.destroy();
    await t?.close();
  });

  const row = (node: string, seq: number, uid: string | null): NewExport => ({
    node,
    kind: 'model-result',
    studyId: 'st_1',
    auditSeq: seq,
    sopInstanceUid: uid,
    payload: { kind: 'model-result' },
    status: uid ? 'pending' : 'skipped',
    ...(uid ? {} : { reason: 'no origin' }),
  });

  it('records idempotently, moves the cursor once, claims once, dead-letters and retries', async () => {
    const [a, b] = [new PacsExportStore(t.db), new PacsExportStore(other)];
    const now = '2026-01-01T00:00:00.000Z';
    const rows = [row('orthanc', 3, '2.25.7'), row('archive', 3, '2.25.7'), row('x', 3, null), row('y', 3, null)];
    const [ra, rb] = await Promise.all([a.record(rows, 0, 3, now), b.record(rows, 0, 3, now)]);
    expect([ra, rb].sort()).toEqual([4, null]);
    expect(await b.cursor()).toBe(3);
    // The same entries again (a cursor reset): nothing is added.
    expect(await a.record([...rows, row('orthanc', 9, '2.25.7')], 3, 9, now)).toBe(0);
    expect(await a.list()).toHaveLength(4);

    const due = await a.due(now, 10);
    expect(due.map((r) => r.node).sort()).toEqual(['archive', 'orthanc']);
    const lease = '2026-01-01T00:05:00.000Z';
    const claims = await Promise.all([a.claim(due[0]!, lease), b.claim(due[0]!, lease)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await a.due(now, 10)).map((r) => r.id)).toEqual([due[1]!.id]);

    await a.markFailed(due[0]!.id, 5, 'refused', null, now);
    await a.markSent(due[1]!.id, 1, now);
    expect((await b.list({ status: 'dead' })).map((r) => r.id)).toEqual([due[0]!.id]);
    expect(await b.retry(due[0]!.id, '2026-01-01T01:00:00.000Z')).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: '2026-01-01T01:00:00.000Z' });
    await expect(b.retry(due[1]!.id, now)).rejects.toMatchObject({ code: 'conflict' });
  });
});
