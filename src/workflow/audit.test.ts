// The hash chain: appended entries verify; an edited, deleted (middle or tail) or reordered row is
// found and named by its seq. Tampering is done with raw SQL, as someone with database access would.
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { appendAudit, listAudit, verifyAuditLog } from './audit.js';

let t: TestDatabase;
beforeEach(async () => {
  t = await openTestDatabase('sqlite');
  for (let i = 1; i <= 5; i++) {
    await t.db.transaction().execute((trx) =>
      appendAudit(trx, {
        at: `2026-01-01T00:00:0${i}.000Z`,
        actor: 'user:alice',
        event: 'read.A',
        studyId: `st_${i}`,
        payload: { label: 'lung-normal', n: i },
      }),
    );
  }
});
afterEach(async () => {
  await t.close();
});

describe('audit log', () => {
  it('chains entries and verifies them', async () => {
    const entries = await listAudit(t.db);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prevHash).toBe(entries[i - 1]!.hash);
    expect(entries[0]!.prevHash).toBe('0'.repeat(64));
    expect(await verifyAuditLog(t.db)).toEqual({ ok: true, entries: 5, headHash: entries[4]!.hash });
    expect((await listAudit(t.db, { studyId: 'st_3' })).map((e) => e.payload)).toEqual([{ label: 'lung-normal', n: 3 }]);
  });

  it('an entry appended in a transaction that rolls back leaves no trace', async () => {
    await expect(
      t.db.transaction().execute(async (trx) => {
        await appendAudit(trx, { at: '2026-01-01T00:01:00.000Z', actor: 'system', event: 'decision', studyId: 'st_9', payload: {} });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await verifyAuditLog(t.db)).toMatchObject({ ok: true, entries: 5 });
  });

  it('detects an edited row', async () => {
    await sql`update audit_log set payload_json = ${'{"label":"lung-covid","n":3}'} where seq = 3`.execute(t.db);
    expect(await verifyAuditLog(t.db)).toMatchObject({ ok: false, seq: 3, reason: 'hash_mismatch', entries: 2 });
  });

  it('detects an edited actor', async () => {
    await sql`update audit_log set actor = ${'user:mallory'} where seq = 2`.execute(t.db);
    expect(await verifyAuditLog(t.db)).toMatchObject({ ok: false, seq: 2, reason: 'hash_mismatch' });
  });

  it('detects a deleted row in the middle', async () => {
    await sql`delete from audit_log where seq = 2`.execute(t.db);
    expect(await verifyAuditLog(t.db)).toMatchObject({ ok: false, seq: 2, reason: 'missing', entries: 1 });
  });

  it('detects deleted rows at the end (the head remembers the last entry)', async () => {
    await sql`delete from audit_log where seq >= 4`.execute(t.db);
    expect(await verifyAuditLog(t.db)).toMatchObject({ ok: false, seq: 4, reason: 'missing', entries: 3 });
  });

  it('detects reordered rows', async () => {
    await sql`update audit_log set seq = -1 where seq = 2`.execute(t.db);
    await sql`update audit_log set seq = 2 where seq = 3`.execute(t.db);
    await sql`update audit_log set seq = 3 where seq = -1`.execute(t.db);
    expect(await verifyAuditLog(t.db)).toMatchObject({ ok: false, seq: 2, reason: 'prev_hash_mismatch', entries: 1 });
  });

  it('detects a deleted row whose successors were renumbered', async () => {
    await sql`delete from audit_log where seq = 3`.execute(t.db);
    await sql`update audit_log set seq = 3 where seq = 4`.execute(t.db);
    await sql`update audit_log set seq = 4 where seq = 5`.execute(t.db);
    expect(await verifyAuditLog(t.db)).toMatchObject({ ok: false, seq: 3, reason: 'prev_hash_mismatch' });
  });
});
