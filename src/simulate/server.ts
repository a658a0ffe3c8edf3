// The simulator's own API server: the HTTP app composed as `secondread serve` composes it — the
// configured database and object store, the registry, ServingService, users, and the WorkflowService
// whose model reader is serve's own ServingModelReader (the production deployment; config
// `workflow.model` / --model, else the only model with a production alias; config `workflow.economics`)
// — listening on 127.0.0.1 on a free port for the length of one simulation.
//
// TODO(swap): serve.ts composes inline; when it exports its composition, use that here. What serve adds
// for operators (job queue and evaluations, alias polling, preloads, signal handling) is not needed to
// replay studies.
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import { NoWorkflowModelError, ServingModelReader } from '../api/serving-model-reader.js';
import type { EvaluationsPort } from '../api/types.js';
import type { Config } from '../core/config.js';
import { SecondreadError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { Metrics } from '../monitoring/metrics.js';
import { ServingService } from '../serving/service.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import { ModelRegistry, Tracker } from '../tracking/index.js';
import { DEFAULT_ECONOMICS } from '../workflow/metrics.js';
import { WorkflowService } from '../workflow/service.js';
import { UserStore } from '../workflow/users.js';

export interface InProcessServer {
  url: string;
  /** The model whose `production` deployment reads the studies; null when none will (see `note`). */
  workflowModel: string | null;
  /** Why there is no workflow model (shown in the report), else null. */
  note: string | null;
  close(): Promise<void>;
}

class EvaluationsNotServedError extends SecondreadError {
  constructor() {
    super('not_available', "evaluations are not served by the simulator's in-process server (use `secondread serve`)", 501);
  }
}

/** The simulator never starts evaluations; the route answers a clear 501 if someone calls it anyway. */
const noEvaluations: EvaluationsPort = {
  create: () => Promise.reject(new EvaluationsNotServedError()),
  get: () => Promise.reject(new EvaluationsNotServedError()),
};

/**
 * The model that will read the studies, or why none will: the model asked for must be registered with
 * a `production` alias; without one, exactly one registered model may have that alias (the
 * ServingModelReader's own rule, asked once here so the report can say it).
 */
export async function resolveWorkflowModel(registry: Pick<ModelRegistry, 'listModels'>, reader: Pick<ServingModelReader, 'productionModel'>, requested: string | undefined): Promise<{ model: string | null; problem: string | null }> {
  if (requested === undefined) {
    return reader.productionModel().then(
      (model) => ({ model, problem: null }),
      (err: unknown) => ({ model: null, problem: err instanceof NoWorkflowModelError ? err.message : describeError(err) }),
    );
  }
  const m = (await registry.listModels()).find((x) => x.name === requested);
  if (!m) return { model: null, problem: `model '${requested}' is not registered: no model read any study` };
  if (m.aliases.production === undefined) return { model: null, problem: `model '${requested}' has no production alias: no model read any study` };
  return { model: requested, problem: null };
}

export async function startInProcessServer(deps: { config: Config; logger: Logger; db: Db; objects: ObjectStore }, o: { model?: string } = {}): Promise<InProcessServer> {
  const { config, logger, db, objects } = deps;
  const registry = new ModelRegistry(db, objects, new Tracker(db, objects));
  const metrics = new Metrics();
  const serving = new ServingService({ registry, db, logger, observer: metrics }, { cacheDir: join(config.home, 'cache', 'models'), aliasPollMs: 0 });
  let app: FastifyInstance | undefined;
  try {
    const requested = o.model ?? config.workflow.model;
    const reader = new ServingModelReader({ serving, registry, model: requested, logger });
    const { model, problem } = await resolveWorkflowModel(registry, reader, requested);
    if (problem) logger.warn({ reason: problem }, 'simulation without a workflow model: every study goes to reader B');
    const workflow = new WorkflowService({ db, objects, model: reader, logger, economics: config.workflow.economics ?? DEFAULT_ECONOMICS });
    const limits = { maxUploadBytes: Math.round(config.http.maxUploadMb * 1024 * 1024), maxImagePixels: config.http.maxImagePixels };
    app = await buildApp({ logger, db, registry, serving, evaluations: noEvaluations, metrics, users: new UserStore(db), workflow, limits });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const listening = app;
    return {
      url,
      workflowModel: model,
      note: problem,
      close: async () => {
        try {
          await listening.close();
        } finally {
          await serving.close().catch((err: unknown) => logger.warn({ err: describeError(err) }, 'closing serving failed'));
        }
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    await serving.close().catch(() => {});
    throw err;
  }
}
