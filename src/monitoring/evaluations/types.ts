// Evaluations of a registered model version on one split of a dataset version: what the API and the CLI see.
// The figures are the training metrics' `ClassifierReport` (the same functions the trainer reports with), so an
// evaluation here and the trainer's metrics.json agree on what "accuracy" or "ECE" means.
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { Split } from '../../data/datasets/types.js';
import type { JobError, JobQueue, JobStatus } from '../../jobs/types.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';
import type { ModelRegistry } from '../../tracking/registry.js';
import type { ClassifierReport } from '../../training/metrics/index.js';

/** `final_eval` = the held-out images flagged final_eval (a subset of val ∪ test), not a fourth split. */
export type EvaluationSplit = Split | 'final_eval';

export type EvaluationStatus = JobStatus;

/** The stored figures: the trainer's report plus the class names its rows and columns follow. */
export interface EvaluationReport extends ClassifierReport {
  classes: string[];
  /** Images of the split whose class the model does not know (left out of every figure), per class. */
  excluded: { class: string; images: number }[];
}

export interface Evaluation {
  id: string;
  jobId: string;
  model: string;
  version: number;
  datasetVersion: string;
  split: EvaluationSplit;
  status: EvaluationStatus;
  /** 0…1, from the job. */
  progress: number;
  /** Images evaluated (null until finished). */
  images: number | null;
  accuracy: number | null;
  macroF1: number | null;
  report: EvaluationReport | null;
  error: JobError | null;
  createdBy: string;
  createdAt: string;
  finishedAt: string | null;
}

export interface CreateEvaluation {
  model: string;
  /** One of version / alias (neither = alias `production`, as serving answers by default). */
  version?: number;
  alias?: string;
  /** A dataset version id or an unambiguous prefix of one. */
  datasetVersion: string;
  split: string;
  createdBy: string;
}

export interface EvaluationServiceDeps {
  db: Db;
  objects: ObjectStore;
  registry: ModelRegistry;
  /** Where `create` enqueues its job (the process that runs it calls `registerHandler` on its own queue). */
  jobs: JobQueue;
  logger: Logger;
  clock?: Clock;
  /** Called once an evaluation succeeded (the API sets the accuracy gauges from it). */
  onResult?: (e: Evaluation) => void | Promise<void>;
  /** Images per inference call (default 32). */
  batchSize?: number;
  /** Model file cache for loadForInference. */
  cacheDir?: string;
}

/** Built by `createEvaluationService(deps)` (src/monitoring/evaluations/service.ts). */
export interface EvaluationService {
  /** Validates everything (model + version/alias, dataset version, split), records the evaluation, enqueues its job. */
  create(input: CreateEvaluation): Promise<Evaluation>;
  get(id: string): Promise<Evaluation | null>;
  /**
   * Newest first (default limit 50, at most 500). In the BullMQ setup `onResult` runs in the worker process, so a
   * process that shows figures (the API's gauges) reads finished evaluations from here.
   */
  list(o?: { model?: string; datasetVersion?: string; status?: EvaluationStatus; limit?: number }): Promise<Evaluation[]>;
  /** Registers the `evaluation` job handler on the queue of the process that runs the jobs. */
  registerHandler(queue: JobQueue): void;
}
