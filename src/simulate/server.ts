// The simulator's own API server: the HTTP app composed as `secondread serve` composes it — the
// configured database and object store, the registry, ServingService, users, and the WorkflowService
// whose model reader is serve's own ServingModelReader (the production deployment; config
// `workflow.model` / --model, else the only model with a production alias; config `workflow.economics`)
// — listening on 127.0.0.1 on a free port for the length of one simulation.
// Composed by src/api/compose.ts like serve. A plain replay needs none of what serve adds for operators (job
// queue and evaluations, alias polling, the rollout gate, preloads, signal handling, the UI); a scenario
// (scenario/run.ts) asks for the job queue — started here as serve starts it, so the retrain handler and the
// drift-alarm trigger run in this process —, the rollout gate on a short timer and alias polling, so canary
// shares and promotions reach serving while the stream runs.
import { composeApi, type ComposedApi } from '../api/compose.js';
import { NoWorkflowModelError, type ServingModelReader } from '../api/serving-model-reader.js';
import type { Config } from '../core/config.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ModelRegistry } from '../tracking/index.js';

export interface InProcessServer {
  url: string;
  /** The model whose `production` deployment reads the studies; null when none will (see `note`). */
  workflowModel: string | null;
  /** Why there is no workflow model (shown in the report), else null. */
  note: string | null;
  /** The composed app's services (registry, drift, rollout, jobs, retrain triggers) for a scenario's steps. */
  api: ComposedApi;
  close(): Promise<void>;
}

/** What a scenario adds to the replay server; absent: the plain replay server (no jobs, no gate, no alias polling). */
export interface ServerLoopOptions {
  /** The job queue (in-process with the embedded default), started before listening, as serve does. */
  jobs: boolean;
  /** How often the rollout gate judges active canaries, ms (0: never). */
  rolloutGateMs: number;
  /** How often serving picks up alias moves and canary shares, ms. */
  aliasPollMs: number;
}

/**
 * The model that will read the studies, or why none will: the model asked for must be registered with
 * a `production` alias; without one, exactly one registered model may have that alias (the
 * ServingModelReader's own rule, asked once here so the report can say it).
 */
export async function resolveWorkflowModel(
  registry: Pick<ModelRegistry, 'listModels'>,
  reader: Pick<ServingModelReader, 'productionModel'>,
  requested: string | undefined,
): Promise<{ model: string | null; problem: string | null }> {
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

export async function startInProcessServer(
  deps: { config: Config; logger: Logger; db: Db; objects: ObjectStore },
  o: { model?: string; loop?: ServerLoopOptions } = {},
): Promise<InProcessServer> {
  const { config, logger } = deps;
  // serve's composition without the UI; a plain replay also without the job queue (that route answers 501).
  const loop = o.loop;
  const api = await composeApi(deps, {
    workflowModel: o.model,
    serving: { aliasPollMs: loop?.aliasPollMs ?? 0 },
    jobs: loop?.jobs ?? false,
    rolloutGateMs: loop?.rolloutGateMs ?? 0,
    web: false,
  });
  const closeAll = async () => {
    try {
      await api.app.close();
    } finally {
      for (const c of api.closers) await c.close().catch((err: unknown) => logger.warn({ err: describeError(err), what: c.name }, 'closing failed'));
    }
  };
  try {
    const requested = o.model ?? config.workflow.model;
    const { model, problem } = await resolveWorkflowModel(api.registry, api.modelReader, requested);
    if (problem) logger.warn({ reason: problem }, 'simulation without a workflow model: every study goes to reader B');
    await api.jobs?.start();
    const url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    return { url, workflowModel: model, note: problem, api, close: closeAll };
  } catch (err) {
    await closeAll().catch(() => {});
    throw err;
  }
}
