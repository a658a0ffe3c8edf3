// What every demo step gets: the stores, the options the bootstrap runs with, and the outputs of the steps
// before it. A step finds its own earlier result in the store (or makes it) and records it in `out`, so the
// orchestrator can run all steps again after an interruption and only the unfinished ones do work.
import { join } from 'node:path';

import type { Config } from '../core/config.js';
import { SecondreadError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ProgressFn } from '../core/progress.js';
import { profileOnRegistration } from '../monitoring/drift/index.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import { ModelRegistry, Tracker } from '../tracking/index.js';
import { type ScryptParams, UserStore } from '../workflow/users.js';
import type { DemoCredential } from './credentials.js';
import type { DemoOptions } from './options.js';
import { type DemoPaths, demoPaths } from './state.js';

export interface DemoDeps {
  config: Config;
  db: Db;
  objects: ObjectStore;
  logger: Logger;
  /** Counts of long work (rendering, building, epochs, scoring), for progress bars. */
  onProgress?: ProgressFn;
  /** Abort: training checkpoints and stops, the bootstrap stops between steps (and resumes on the next start). */
  signal?: AbortSignal;
  /** Cost of the demo users' password hashes (default: UserStore's; tests use a cheap one). */
  scrypt?: ScryptParams;
}

export interface DemoModelFigures {
  name: string;
  version: number;
  architecture: string;
  inputSize: number;
  epochs: number;
  trainSeconds: number;
  /** Accuracy on the test split and its size; val and final_eval as well (null when the split is empty). */
  test: { accuracy: number; count: number } | null;
  val: { accuracy: number; count: number };
  finalEval: { accuracy: number; count: number } | null;
}

export interface DemoPolicyFigures {
  id: string;
  version: number;
  /** Cases the policy was fitted on (val without the final_eval images). */
  fittedOn: number;
  maxFalseClear: number;
  reduction: number;
  falseClearRate: number | null;
  /** Classes with a threshold. */
  classesCleared: number;
}

export interface DemoStudyFigures {
  total: number;
  /** Read by (simulated) reader A during the bootstrap. */
  readA: number;
  byStatus: Record<string, number>;
}

/** What the steps found or made, in step order. */
export interface DemoOutputs {
  images?: { total: number; bySplit: Record<string, number>; finalEval: number };
  datasetVersion?: string;
  runId?: string;
  model?: DemoModelFigures;
  policy?: DemoPolicyFigures;
  credentials?: DemoCredential[];
  studies?: DemoStudyFigures;
}

export interface DemoContext extends DemoDeps {
  options: DemoOptions;
  paths: DemoPaths;
  tracker: Tracker;
  registry: ModelRegistry;
  users: UserStore;
  /** Training caches (as `secondread train`) and the model file cache (as `secondread serve`). */
  cacheDir: string;
  modelCacheDir: string;
  out: DemoOutputs;
}

/** What a step did: `ran` = it made its result now, `reused` = it found it in the store. */
export interface StepResult {
  outcome: 'ran' | 'reused';
  /** One line for the log. */
  detail: string;
}

export function demoContext(deps: DemoDeps, options: DemoOptions): DemoContext {
  const tracker = new Tracker(deps.db, deps.objects);
  const registry = new ModelRegistry(deps.db, deps.objects, tracker);
  // The demo model gets its drift reference profile when it is registered, so serve's scheduled checks cover it.
  if (deps.config.drift.profileOnRegister)
    profileOnRegistration(registry, { db: deps.db, objects: deps.objects, logger: deps.logger, cacheDir: join(deps.config.home, 'cache', 'models') });
  return {
    ...deps,
    options,
    paths: demoPaths(deps.config.home),
    tracker,
    registry,
    users: new UserStore(deps.db, deps.scrypt ? { scrypt: deps.scrypt } : {}),
    cacheDir: join(deps.config.home, 'cache'),
    modelCacheDir: join(deps.config.home, 'cache', 'models'),
    out: {},
  };
}

/** An earlier step's output; its absence is a bug in the step order, not a user error. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new SecondreadError('internal', `demo bootstrap: ${what} is missing (steps out of order)`, 500);
  return value;
}
