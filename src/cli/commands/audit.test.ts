// `secondread audit verify` in-process on a temporary SECONDREAD_HOME: exit 0 with the count on an
// intact chain, exit 1 naming the first bad seq after a row is edited with raw SQL.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../core/config.js';
import { type Db, migrateToLatest, openDatabase } from '../../storage/db.js';
import { appendAudit } from '../../workflow/audit.js';
import { runCli, tempCliHome } from '../testing.js';

let cli: Awaited<ReturnType<typeof tempCliHome>>;
let db: Db;
beforeAll(async () => {
  cli = await tempCliHome('sr-cli-audit-');
  db = openDatabase(loadConfig().database);
  await migrateToLatest(db);
});
afterAll(async () => {
  await db.destroy();
  await cli?.cleanup();
});

describe('secondread audit verify', () => {
  it('an empty log verifies', async () => {
    expect(await runCli('audit', 'verify')).toMatchObject({ code: 0, out: expect.stringMatching(/^0 entries verified/) });
  });

  it('counts an intact chain, then names the first edited entry with exit 1', async () => {
    for (let i = 1; i <= 3; i++)
      await db
        .transaction()
        .execute((trx) =>
          appendAudit(trx, { at: new Date().toISOString(), actor: 'user:alice', event: 'read.A', studyId: `st_${i}`, payload: { label: 'lung-normal' } }),
        );
    const ok = await runCli('audit', 'verify');
    expect(ok).toMatchObject({ code: 0, out: expect.stringMatching(/^3 entries verified/) });
    expect(JSON.parse((await runCli('audit', 'verify', '--json')).out)).toMatchObject({ ok: true, entries: 3 });

    await sql`update audit_log set payload_json = ${'{"label":"lung-covid"}'} where seq = 2`.execute(db);
    const bad = await runCli('audit', 'verify');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/audit log broken at seq 2 \(hash_mismatch\).*\[audit_chain_broken\]/);
  });
});
