// The HTTP app composed from the configured stores: registry, serving runtime, metrics, workflow (its
// model reads through serving's production deployment), users, saliency, catalog, the web UI and —
// for a server operators run — the job queue with evaluations. `secondread serve` and the simulator's
// in-process server both start from here, so what the simulator replays against is what serve runs.
import { join } from 'node:path';

import type { FastifyInstance } from 'fastify';

import type { Config } from '../core/config.js';
import { ConfigError, SecondreadError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { loadDeidKey } from '../data/dicom/deid/key.js';
import { createGateway, type Gateway, type GatewayOptions } from '../gateway/index.js';
import { jobBackend, type JobQueue, openJobQueue } from '../jobs/index.js';
import { startLoop } from '../loop/loop.js';
import type { RetrainTriggers } from '../loop/triggers.js';
import { DriftScheduler, scheduleSettings } from '../monitoring/drift/schedule.js';
import { collectDriftGauges, DriftService } from '../monitoring/drift/service.js';
import { createEvaluationService } from '../monitoring/evaluations/index.js';
import { Metrics } from '../monitoring/metrics.js';
import { collectEvaluationGauges, evaluationGauges } from '../monitoring/metrics-evaluations.js';
import { combineObservers } from '../monitoring/serving-observer.js';
import { collectRolloutGauges, RolloutService, ServingStatsRecorder, startRolloutGate } from '../rollout/index.js';
import { SaliencyService } from '../serving/saliency.js';
import { ServingService } from '../serving/service.js';
import type { ServingOptions } from '../serving/types.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import { ModelRegistry, Tracker } from '../tracking/index.js';
import { dicomWorkerCount, pooledDicomPreparer } from '../workflow/dicom-prepare.js';
import { collectWorkflowGauges } from '../workflow/gauges.js';
import { DEFAULT_ECONOMICS } from '../workflow/metrics.js';
import { WorkflowService } from '../workflow/service.js';
import { UserStore } from '../workflow/users.js';
import { buildApp } from './app.js';
import { MemoryLoginLimiter } from './rate-limit.js';
import { RedisLoginLimiter } from './rate-limit-redis.js';
import { objectStoreReadiness, redisReadiness } from './readiness.js';
import { ServingDetectorReader, ServingModelReader } from './serving-model-reader.js';
import { type ApiLimits, DEFAULT_LIMITS, type EvaluationsPort, type TlsFiles } from './types.js';

export interface ComposeOptions {
  limits?: Partial<ApiLimits>;
  serving?: Partial<ServingOptions>;
  /** The model whose production deployment reads every study (default: config `workflow.model`, else the only production model). */
  workflowModel?: string;
  /** The detector that also reads every CXR study (default: config `workflow.detector`; neither: no boxes). */
  workflowDetector?: string;
  publicMetrics?: boolean;
  /** Job queue + evaluations (serve: true). false: /v1/evaluations answers 501 (the simulator starts none). */
  jobs?: boolean;
  /** Serve the web UI at / (serve: true). */
  web?: boolean;
  /** The DICOM network edge: the C-STORE SCP and the results exporter (serve, start, dicom listen); the caller starts it. */
  gateway?: GatewayOptions;
  /** Serve HTTPS with this certificate and key (serve --tls-cert/--tls-key). */
  tls?: TlsFiles;
  /** How often the rollout gate judges active canaries (ms; default 15000 with `jobs`, else 0 = never: call `rollout.tick()`). */
  rolloutGateMs?: number;
  /** Scheduled drift checks every config `drift.checkIntervalSeconds` (0: off). Default: with `jobs` (serve); false: call `driftScheduler.tick()`. */
  driftSchedule?: boolean;
}

export interface ComposedApi {
  app: FastifyInstance;
  serving: ServingService;
  registry: ModelRegistry;
  /** The model reader of the workflow (the simulator asks it which model will read). */
  modelReader: ServingModelReader;
  /** Present with `jobs: true`; the caller starts it once the app is ready. */
  jobs: JobQueue | null;
  /** The C-STORE SCP and the results exporter; the caller starts it once the app is ready (it is among the closers). */
  gateway: Gateway;
  /** Change-protocol evaluation and the staged canary (src/rollout); serving follows its canary share. */
  rollout: RolloutService;
  /** The drift monitor; the retrain trigger subscribes to `drift.alarms` (docs/drift.md). */
  drift: DriftService;
  /** The retrain triggers (src/loop) when jobs run and any trigger is configured. */
  retrainTriggers: RetrainTriggers | null;
  /**
   * The scheduled drift checks (docs/drift.md "What runs automatically"): null when config `drift.checkIntervalSeconds`
   * is 0. Started on its timer with `driftSchedule` (serve); otherwise `tick()` runs one pass when the caller wants.
   */
  driftScheduler: DriftScheduler | null;
  /** What to close after the app, in this order. */
  closers: { name: string; close: () => Promise<void> }[];
}

class EvaluationsNotServedError extends SecondreadError {
  constructor() {
    super('not_available', 'evaluations are not served by this server (use `secondread serve`)', 501);
  }
}

const noEvaluations: EvaluationsPort = {
  create: () => Promise.reject(new EvaluationsNotServedError()),
  get: () => Promise.reject(new EvaluationsNotServedError()),
};

/** SECONDREAD_PACS_RETURN: on | off (default off); anything else is a configuration error, not a silent off. */
export function pacsReturn(value: string | undefined): boolean {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'off') return false;
  if (v === 'on') return true;
  throw new ConfigError(`SECONDREAD_PACS_RETURN must be 'on' or 'off' (got '${v.slice(0, 20)}')`);
}

/** SECONDREAD_STOW_MAX_MB: the largest STOW-RS request body in MiB (default 256; the request is held in memory). */
export function stowMaxBytes(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_LIMITS.maxStowBytes;
  const mb = Number(value);
  if (!Number.isFinite(mb) || mb <= 0 || mb > 4096)
    throw new ConfigError(`SECONDREAD_STOW_MAX_MB must be a number of MiB in (0, 4096] (got '${value.slice(0, 20)}')`);
  return Math.round(mb * 1024 * 1024);
}

export async function composeApi(deps: { config: Config; logger: Logger; db: Db; objects: ObjectStore }, o: ComposeOptions = {}): Promise<ComposedApi> {
  const { config, logger, db, objects } = deps;
  const limits: ApiLimits = {
    ...DEFAULT_LIMITS,
    maxUploadBytes: Math.round(config.http.maxUploadMb * 1024 * 1024),
    maxImagePixels: config.http.maxImagePixels,
    maxBatchFiles: config.http.maxBatchFiles,
    maxStowBytes: stowMaxBytes(process.env.SECONDREAD_STOW_MAX_MB),
    ...o.limits,
  };
  const tracker = new Tracker(db, objects);
  const registry = new ModelRegistry(db, objects, tracker);
  const cacheDir = join(config.home, 'cache', 'models');
  const metrics = new Metrics();
  collectEvaluationGauges(db, metrics, logger);
  // Checks run here (POST /v1/drift/checks) raise alarms on drift.alarms; checks run elsewhere reach the gauges through the DB.
  const drift = new DriftService({ db, registry, logger, metrics });
  collectDriftGauges(db, metrics, logger);
  const rollout = new RolloutService({ db, objects, registry, logger, cacheDir });
  collectRolloutGauges(rollout, metrics, logger, { models: async () => (await registry.listModels()).map((m) => m.name) });
  // What this process serves per model version, for the canary's error-rate and latency guards.
  const servingStats = new ServingStatsRecorder({ db, logger });
  const serving = new ServingService(
    { registry, db, logger, observer: combineObservers(metrics, servingStats), canaryWeights: (name) => rollout.canaryWeight(name) },
    { ...o.serving, cacheDir },
  );
  // One saliency map at a time on one thread: explanations must not starve serving.
  const saliency = new SaliencyService({ registry, logger });
  const closers: ComposedApi['closers'] = [
    { name: 'serving', close: () => serving.close() },
    { name: 'saliency', close: () => saliency.close() },
    { name: 'rollout serving figures', close: () => servingStats.close() },
  ];
  const gateMs = o.rolloutGateMs ?? (o.jobs ? 15_000 : 0);
  if (gateMs > 0) {
    const gate = startRolloutGate(rollout, gateMs);
    closers.unshift({ name: 'rollout gate', close: () => gate.close() });
  }
  let jobs: JobQueue | null = null;
  let retrainTriggers: RetrainTriggers | null = null;
  try {
    let evaluations = noEvaluations;
    if (o.jobs) {
      const queue = openJobQueue(config, { db, logger, worker: false });
      jobs = queue;
      closers.push({ name: 'jobs', close: () => queue.close() });
      const service = createEvaluationService({
        db,
        objects,
        registry,
        jobs: queue,
        logger,
        cacheDir,
        onResult: (e) => {
          const g = evaluationGauges(e);
          if (g) metrics.setEvaluationGauges(g);
        },
      });
      // The embedded queue runs its jobs in this process; with BullMQ, `secondread worker` runs them.
      if (jobBackend(config) === 'in-process') service.registerHandler(queue);
      evaluations = service;
      // The feedback loop: the retrain handler where jobs run here, the triggers in every API process (each
      // enqueue is a compare-and-set on the trigger row, so several processes enqueue once).
      const loop = await startLoop({ config, db, objects, registry, tracker, logger, cacheDir: join(config.home, 'cache'), rollout }, queue, {
        runsJobs: jobBackend(config) === 'in-process',
        startTriggers: true,
        driftAlarms: drift.alarms,
      });
      retrainTriggers = loop.triggers;
      closers.unshift({ name: 'retrain triggers', close: () => loop.close() });
    }
    // Scheduled drift checks: their alarms go to drift.alarms, which the retrain triggers above subscribe to.
    const schedule = scheduleSettings(config.drift);
    const driftScheduler = schedule ? new DriftScheduler({ db, registry, check: (r) => drift.check(r), logger }, schedule) : null;
    if (schedule && driftScheduler && (o.driftSchedule ?? o.jobs ?? false)) {
      driftScheduler.start();
      closers.unshift({ name: 'drift schedule', close: () => driftScheduler.stop() });
      const { intervalSeconds, modality, minNewReads } = schedule;
      logger.info({ intervalSeconds, window: config.drift.window, modality, minNewReads }, 'scheduled drift checks on');
    }
    const modelReader = new ServingModelReader({ serving, registry, model: o.workflowModel ?? config.workflow.model, logger });
    const detectorName = o.workflowDetector ?? config.workflow.detector;
    const detector = detectorName !== undefined ? new ServingDetectorReader({ serving, model: detectorName }) : undefined;
    if (detector) logger.info({ detector: detector.model }, 'workflow: CXR studies are also read by the detector');
    // DICOM studies are de-identified on intake with the site's key (SECONDREAD_DEID_KEY, else one
    // made once in the home). BurnedInAnnotation = YES is refused unless SECONDREAD_DICOM_BURNED_IN=allow.
    // SECONDREAD_PACS_RETURN=on keeps each instance's identified origin, sealed with that key, so results
    // can go back into the original study (docs/dicom.md); off (the default) keeps no link back.
    const dicom = {
      key: loadDeidKey({ home: config.home, envKey: process.env.SECONDREAD_DEID_KEY }),
      burnedIn: process.env.SECONDREAD_DICOM_BURNED_IN === 'allow' ? ('allow' as const) : ('refuse' as const),
      keepOrigin: pacsReturn(process.env.SECONDREAD_PACS_RETURN),
    };
    // DICOM parsing, decoding and de-identification are JavaScript: in worker threads (one per core, at most 4;
    // SECONDREAD_DICOM_WORKERS, 0 = on the event loop) they run in parallel and the loop keeps answering.
    const dicomWorkers = dicomWorkerCount(process.env.SECONDREAD_DICOM_WORKERS);
    const dicomPreparer = dicomWorkers > 0 ? pooledDicomPreparer(dicom, dicomWorkers) : undefined;
    if (dicomPreparer) closers.push({ name: 'dicom workers', close: () => dicomPreparer.close() });
    const workflow = new WorkflowService({
      db,
      objects,
      model: modelReader,
      detector,
      logger,
      economics: config.workflow.economics ?? DEFAULT_ECONOMICS,
      dicom,
      dicomPreparer,
    });
    if (!config.workflow.economics) logger.info('workflow economics: placeholder figures (configure workflow.economics for time and cost saved)');
    collectWorkflowGauges(workflow, metrics, logger);
    const users = new UserStore(db);
    // Failed logins count across every API process when Redis is configured (rate-limit-redis.ts).
    const loginLimiter = config.redisUrl ? new RedisLoginLimiter({ redisUrl: config.redisUrl, logger }) : new MemoryLoginLimiter();
    closers.push({ name: 'login limits', close: () => loginLimiter.close() });
    // /readyz: not ready while the object store or (when configured) Redis does not answer.
    const readiness = [objectStoreReadiness(objects), ...(config.redisUrl ? [redisReadiness(config.redisUrl, logger)] : [])];
    for (const c of readiness) if (c.close) closers.push({ name: `readiness ${c.name}`, close: c.close });
    const gateway = createGateway({ config, logger, db, workflow }, o.gateway);
    if (o.gateway?.exporter && config.pacs.nodes.length > 0 && !dicom.keepOrigin)
      logger.warn('PACS nodes are configured but SECONDREAD_PACS_RETURN is off: no origin is kept, so every result is recorded as skipped');
    // First to close: no new C-STOREs while serving and the database are still there for those in flight.
    closers.unshift({ name: 'gateway', close: () => gateway.close() });
    const app = await buildApp({
      logger,
      db,
      registry,
      serving,
      evaluations,
      metrics,
      users,
      workflow,
      limits,
      publicMetrics: o.publicMetrics,
      corsOrigins: config.http.corsOrigins,
      accounts: users,
      loginLimiter,
      modelCatalog: registry,
      objects,
      tracker,
      saliency,
      pacs: gateway.exporter,
      rollout,
      drift,
      readiness,
      tls: o.tls,
      ...(o.web ? { web: {} } : {}),
    });
    return { app, serving, registry, modelReader, jobs, gateway, rollout, drift, retrainTriggers, driftScheduler, closers };
  } catch (err) {
    for (const c of closers) await c.close().catch(() => {});
    throw err;
  }
}
