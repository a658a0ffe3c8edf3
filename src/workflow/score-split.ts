// The model's reads of a dataset version split, as policy fitting needs them: every image of the split (read
// from the object store by its manifest key, never a path), with the probabilities serving would give it. The
// evaluation machinery (src/monitoring/evaluations) resolves the target, loads, preprocesses and batches.
import type { Logger } from '../core/logger.js';
import type { ProgressFn } from '../core/progress.js';
import { partitionByClass, predictSplit, resolveTarget } from '../monitoring/evaluations/run.js';
import type { EvaluationSplit } from '../monitoring/evaluations/types.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ModelRegistry } from '../tracking/registry.js';
import type { ScoredCase } from './policy-fit.js';

export interface ScoreSplitDeps {
  db: Db;
  objects: ObjectStore;
  registry: ModelRegistry;
  logger: Logger;
  /** Model file cache (loadForInference). */
  cacheDir?: string;
  /** Images per inference call (default 32). */
  batchSize?: number;
  /** ONNX Runtime intra-op threads (default 1). */
  threads?: number;
}

export interface ScoreSplitTarget {
  model: string;
  /** One of version / alias; neither = the latest version. */
  version?: number;
  alias?: string;
  /** A dataset version id or an unambiguous prefix of one. */
  datasetVersion: string;
  split: string;
}

export interface ScoredSplit {
  model: { name: string; version: number; classes: string[]; temperature: number };
  datasetVersion: string;
  split: EvaluationSplit;
  /** key = the image's sha256, in manifest order. */
  cases: ScoredCase[];
  /** Images whose class the model does not know, per class: scored all the same (a deployment sends them too). */
  unknownToModel: { class: string; images: number }[];
}

/**
 * Runs a registered model version over every image of a ready dataset version's split. Unknown model, version,
 * alias or dataset version: NotFoundError; a split that is not one, a version not ready, an empty split:
 * ValidationError. `onProgress` gets phase `score` with images done / total after each batch.
 */
export async function scoreSplit(
  deps: ScoreSplitDeps,
  target: ScoreSplitTarget,
  o: { onProgress?: ProgressFn; signal?: AbortSignal } = {},
): Promise<ScoredSplit> {
  const resolved = await resolveTarget(deps, target);
  const predicted = await predictSplit(
    { objects: deps.objects, registry: deps.registry, logger: deps.logger, cacheDir: deps.cacheDir, batchSize: deps.batchSize ?? 32, threads: deps.threads },
    resolved,
    { signal: o.signal, progress: (done, total) => o.onProgress?.({ phase: 'score', done, total }) },
  );
  return {
    model: predicted.model,
    datasetVersion: predicted.datasetVersion,
    split: predicted.split,
    cases: predicted.images.map(({ image, predictions }) => ({ key: image.sha256, truth: image.class, predictions })),
    unknownToModel: partitionByClass(resolved.images, predicted.model.classes).excluded,
  };
}
