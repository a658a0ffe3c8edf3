// Two adjudicators racing on one study over HTTP, on PostgreSQL: each through its own API app with its
// own connection pool (two API processes), so the two transactions really run at once and meet at the
// study's row lock. Every race: exactly one 200, one 409 illegal_transition, one read B, one audit entry,
// and the audit chain still verifies.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import { silentLogger } from '../core/logger.js';
import { Metrics } from '../monitoring/metrics.js';
import type { Db } from '../storage/db.js';
import { verifyAuditLog } from '../workflow/audit.js';
import { WorkflowService } from '../workflow/service.js';
import { UserStore } from '../workflow/users.js';
import { buildApp } from './app.js';
import { type ApiFixture, openApiFixture } from './testing/fixture.js';
import { adjudicationRaces } from './testing/http.js';

const url = await postgresUrlForTests();

describe.skipIf(!url)('workflow over HTTP on PostgreSQL', () => {
  let f: ApiFixture;
  let other: Db;
  let otherApp: FastifyInstance;
  beforeAll(async () => {
    f = await openApiFixture({ dialect: 'postgres' });
    other = f.tracking.t.openAnother();
    const workflow = new WorkflowService({ db: other, objects: f.tracking.objects, model: f.model });
    otherApp = await buildApp({
      logger: silentLogger,
      db: other,
      registry: f.registry,
      serving: f.serving,
      evaluations: f.evaluations,
      metrics: new Metrics({ processMetrics: false }),
      users: new UserStore(other),
      workflow,
    });
    await otherApp.ready();
  });
  afterAll(async () => {
    await otherApp?.close();
    await other?.destroy();
    await f?.close();
  });

  it('two adjudicators racing through two API apps: exactly one 200 and one 409 per study', async () => {
    const r = await adjudicationRaces(f, 8, otherApp);
    expect(r.statuses).toEqual(Array(8).fill([200, 409]));
    expect(r.loserCodes).toEqual(Array(8).fill('illegal_transition'));
    expect(r.readsB).toEqual(Array(8).fill(1));
    expect(r.auditB).toEqual(Array(8).fill(1));
    expect(await verifyAuditLog(f.tracking.t.db)).toMatchObject({ ok: true });
  });
});
