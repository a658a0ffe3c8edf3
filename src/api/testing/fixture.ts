// Apps for route tests: the real app (openApiFixture) with real users, metrics, database, registry
// and workflow (WorkflowService on the fixture's database, read by a scripted FakeModelReader) and the
// fakes of fakes.ts for serving and evaluations; and an app serving one plugin (pluginApp), set up as
// buildApp sets up its routes. No vitest import.
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyPluginOptions } from 'fastify';

import { silentLogger } from '../../core/logger.js';
import { Metrics } from '../../monitoring/metrics.js';
import { RolloutService } from '../../rollout/index.js';
import { SaliencyService } from '../../serving/saliency.js';
import type { DbDialect } from '../../storage/db.js';
import { ModelRegistry } from '../../tracking/index.js';
import { openTrackingFixture, type TrackingFixture } from '../../tracking/testing.js';
import { collectWorkflowGauges } from '../../workflow/gauges.js';
import { WorkflowService, type WorkflowServiceDeps } from '../../workflow/service.js';
import { FakeModelReader } from '../../workflow/testing.js';
import { UserStore } from '../../workflow/users.js';
import { API_AJV, buildApp } from '../app.js';
import { installAuth } from '../auth.js';
import { sendError } from '../errors.js';
import { sharedSchemas } from '../schemas.js';
import type { ApiDeps, ApiLimits, UsersPort } from '../types.js';
import { FakeEvaluations, FakeServing } from './fakes.js';

export interface ApiFixture {
  app: FastifyInstance;
  serving: FakeServing;
  evaluations: FakeEvaluations;
  metrics: Metrics;
  users: UserStore;
  registry: ModelRegistry;
  tracking: TrackingFixture;
  /** The real workflow on the fixture's database and object store. */
  workflow: WorkflowService;
  /** Its model reader: script the next reads with `model.next(modelRead(…))`. */
  model: FakeModelReader;
  /** QA draws the workflow takes, first in first out; when empty, 0.99 (never a QA sample). */
  draws: number[];
  /** Tokens of one user per role. */
  tokens: { reader: string; adjudicator: string; engineer: string; admin: string };
  /** `Authorization` header for a role. */
  auth(role?: keyof ApiFixture['tokens']): { authorization: string };
  close(): Promise<void>;
}

export interface ApiFixtureOptions {
  limits?: Partial<ApiLimits>;
  publicMetrics?: boolean;
  deps?: Partial<ApiDeps>;
  /** Default sqlite; postgres for the integration tier. */
  dialect?: DbDialect;
  /** Overrides of the workflow's dependencies (clock, economics, …). */
  workflow?: Partial<WorkflowServiceDeps>;
}

export async function openApiFixture(o: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const tracking = await openTrackingFixture(o.dialect ?? 'sqlite');
  const users = new UserStore(tracking.t.db);
  const tokens = {
    reader: (await users.addUser({ name: 'rita', role: 'reader' })).token,
    adjudicator: (await users.addUser({ name: 'adam', role: 'adjudicator' })).token,
    engineer: (await users.addUser({ name: 'emil', role: 'ml-engineer' })).token,
    admin: (await users.addUser({ name: 'ada', role: 'admin' })).token,
  };
  const serving = new FakeServing();
  const evaluations = new FakeEvaluations();
  const metrics = new Metrics({ processMetrics: false });
  const registry = new ModelRegistry(tracking.t.db, tracking.objects, tracking.tracker);
  const model = new FakeModelReader();
  const draws: number[] = [];
  const workflow = new WorkflowService({ db: tracking.t.db, objects: tracking.objects, model, random: () => draws.shift() ?? 0.99, ...o.workflow });
  collectWorkflowGauges(workflow, metrics, silentLogger);
  const saliency = new SaliencyService({ registry });
  const app = await buildApp({
    logger: silentLogger,
    db: tracking.t.db,
    registry,
    serving,
    evaluations,
    metrics,
    users,
    workflow,
    limits: o.limits,
    publicMetrics: o.publicMetrics,
    // Every optional feature as `secondread serve` has it (the web UI aside: tests of it build their own app).
    accounts: users,
    modelCatalog: registry,
    objects: tracking.objects,
    tracker: tracking.tracker,
    saliency,
    rollout: new RolloutService({ db: tracking.t.db, objects: tracking.objects, registry, logger: silentLogger }),
    ...o.deps,
  });
  await app.ready();
  return {
    app,
    serving,
    evaluations,
    metrics,
    users,
    registry,
    tracking,
    workflow,
    model,
    draws,
    tokens,
    auth: (role = 'reader') => ({ authorization: `Bearer ${tokens[role]}` }),
    close: async () => {
      await app.close();
      await saliency.close();
      await tracking.close();
    },
  };
}

/**
 * An app serving only `plugin`, set up as buildApp sets up its routes: the same ajv, the shared schemas,
 * the one error mapping and bearer auth against `users`. For plugin tests that need their own stores.
 */
export async function pluginApp<O extends FastifyPluginOptions>(users: UsersPort, plugin: FastifyPluginAsync<O>, opts: O): Promise<FastifyInstance> {
  const app = Fastify({ ajv: API_AJV });
  for (const schema of sharedSchemas) app.addSchema(schema);
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  installAuth(app, users);
  await app.register(plugin, opts);
  await app.ready();
  return app;
}
