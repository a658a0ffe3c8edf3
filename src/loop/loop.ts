// The feedback loop as a server runs it: the `retrain` handler (in the process that runs jobs), the hand-off of
// every candidate to the change protocol (rollout/), and the triggers — checked on a timer and, for drift alarms
// raised in this process, at once through the DriftAlarms hook. `composeApi` (serve) and `secondread worker` call
// this; `secondread retrain` uses the same pieces by hand.
import { join } from 'node:path';

import type { Config } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { JobQueue } from '../jobs/index.js';
import { type DriftAlarms, profileOnRegistration } from '../monitoring/drift/index.js';
import { type LoadedProtocol, readProtocolFile, type RolloutService } from '../rollout/index.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ModelRegistry, Tracker } from '../tracking/index.js';
import { type CandidateHandOff, registerRetrainHandler } from './retrain.js';
import { RetrainTriggers } from './triggers.js';

export interface LoopDeps {
  config: Pick<Config, 'retrain' | 'workflow' | 'drift'>;
  db: Db;
  objects: ObjectStore;
  registry: ModelRegistry;
  tracker: Tracker;
  logger: Logger;
  /** Training caches (`$SECONDREAD_HOME/cache`). */
  cacheDir: string;
  rollout?: RolloutService;
}

/**
 * The hand-off of a candidate to the change protocol: evaluation (pass → staging with its own policy, by rollout),
 * and with `startCanary` the staged canary of a passing candidate.
 */
export function protocolHandOff(rollout: RolloutService, protocol: LoadedProtocol, o: { startCanary: boolean }): CandidateHandOff {
  return async (c, ctx) => {
    const report = await rollout.evaluate({ model: c.name, version: c.version }, protocol, { by: 'retrain', automatic: true }, { signal: ctx.signal });
    const canary = report.passed && o.startCanary ? await rollout.start({ model: c.name, version: c.version }, { by: 'retrain', automatic: true }) : null;
    return {
      protocol: report.protocol,
      reportId: report.id,
      passed: report.passed,
      failures: report.failures,
      staging: report.passed ? c.version : null,
      canary: canary ? { rollout: canary.id, step: canary.step, weight: canary.weight } : null,
    };
  };
}

/** The hand-off the configuration asks for (`retrain.protocol`, `retrain.startCanary`); none without a protocol. */
export async function candidateHandOff(deps: Pick<LoopDeps, 'config' | 'rollout'>): Promise<CandidateHandOff | undefined> {
  const { retrain } = deps.config;
  if (retrain.protocol === undefined) return undefined;
  if (!deps.rollout) throw new ConfigError('retrain.protocol is set but this process has no rollout service');
  return protocolHandOff(deps.rollout, await readProtocolFile(retrain.protocol), { startCanary: retrain.startCanary });
}

/** The model the triggers retrain: `retrain.model`, else `workflow.model`, else the only model with a production alias. */
export async function retrainModel(deps: Pick<LoopDeps, 'config' | 'registry'>): Promise<string | undefined> {
  const named = deps.config.retrain.model ?? deps.config.workflow.model;
  if (named !== undefined) return named;
  const withProduction: string[] = [];
  for (const m of await deps.registry.listModels()) if ((await deps.registry.aliases(m.name)).production !== undefined) withProduction.push(m.name);
  return withProduction.length === 1 ? withProduction[0] : undefined;
}

export interface RunningLoop {
  triggers: RetrainTriggers | null;
  close(): Promise<void>;
}

/**
 * Registers the handler when `runsJobs` (the embedded queue's serve, or a worker) and starts the triggers when any
 * is configured (`serve` only: `startTriggers`). The drift subscription reaches alarms raised in this process; the
 * timer's `check` polls those of others.
 */
export async function startLoop(
  deps: LoopDeps,
  queue: JobQueue,
  o: { runsJobs: boolean; startTriggers: boolean; driftAlarms?: DriftAlarms },
): Promise<RunningLoop> {
  if (o.runsJobs) registerRetrainHandler(queue, { ...deps, handOff: await candidateHandOff(deps) });
  // Every candidate a retrain registers gets its drift reference profile before it can reach production (docs/drift.md).
  const unprofile =
    o.runsJobs && deps.config.drift.profileOnRegister
      ? profileOnRegistration(deps.registry, { db: deps.db, objects: deps.objects, logger: deps.logger, cacheDir: join(deps.cacheDir, 'models') })
      : () => undefined;
  const r = deps.config.retrain;
  const anyTrigger = r.onDrift || r.everyHours !== undefined || r.newLabels !== undefined;
  if (!o.startTriggers || !anyTrigger) return { triggers: null, close: async () => unprofile() };
  const model = await retrainModel(deps);
  if (model === undefined) {
    deps.logger.warn('retrain triggers are configured but no model is: set retrain.model (or workflow.model); triggers off');
    return { triggers: null, close: async () => unprofile() };
  }
  const triggers = new RetrainTriggers(
    { db: deps.db, jobs: queue, logger: deps.logger },
    { model, everyHours: r.everyHours, newLabels: r.newLabels, onDrift: r.onDrift, includeAutoFinalized: r.includeAutoFinalized, train: r.train },
  );
  const off = o.driftAlarms?.subscribe(async (a) => void (await triggers.onDriftAlarm(a)));
  triggers.start(r.checkSeconds * 1000);
  deps.logger.info({ model, everyHours: r.everyHours ?? null, newLabels: r.newLabels ?? null, onDrift: r.onDrift }, 'retrain triggers on');
  return {
    triggers,
    close: async () => {
      off?.();
      await triggers.stop();
      unprofile();
    },
  };
}
