// The evaluation itself: a registered model version predicts every image of one split of a dataset version — read
// from the object store by the manifest's keys, never from a path — in batches, and the logits are scored with the
// training metrics (the same classifierReport the trainer writes to metrics.json).
import { ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { type ClassProbability, rankClasses, softmaxRows } from '../../core/probabilities.js';
import { getVersion, listImages, resolveVersionRef } from '../../data/datasets/repository.js';
import { type ManifestImage, SPLITS } from '../../data/datasets/types.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';
import type { LoadedModel } from '../../tracking/loaded-model.js';
import type { ModelRegistry, ModelVersion } from '../../tracking/registry.js';
import { classifierReport } from '../../training/metrics/index.js';
import type { EvaluationReport, EvaluationSplit } from './types.js';

export const EVALUATION_SPLITS: readonly EvaluationSplit[] = [...SPLITS, 'final_eval'];

export interface EvaluationTarget {
  model: string;
  version: number;
  datasetVersion: string;
  split: EvaluationSplit;
}

export interface RunEvaluationDeps {
  db: Db;
  objects: ObjectStore;
  registry: ModelRegistry;
  logger: Logger;
  batchSize: number;
  cacheDir?: string;
  /** ONNX Runtime intra-op threads (default 1). */
  threads?: number;
}

/** The split's images in manifest (object-key) order; `final_eval` = the flagged val ∪ test images. */
export async function splitImages(db: Db, datasetVersion: string, split: EvaluationSplit): Promise<ManifestImage[]> {
  if (split !== 'final_eval') return listImages(db, datasetVersion, { split });
  const held = [...(await listImages(db, datasetVersion, { split: 'val' })), ...(await listImages(db, datasetVersion, { split: 'test' }))].filter(
    (i) => i.finalEval,
  );
  return held.sort((a, b) => (a.objectKey < b.objectKey ? -1 : a.objectKey > b.objectKey ? 1 : 0));
}

/** Splits the images into those the model can be scored on (its classes) and a count of the rest per class. */
export function partitionByClass(
  images: readonly ManifestImage[],
  classes: readonly string[],
): { scored: ManifestImage[]; excluded: { class: string; images: number }[] } {
  const known = new Set(classes);
  const scored: ManifestImage[] = [];
  const other = new Map<string, number>();
  for (const img of images) {
    if (known.has(img.class)) scored.push(img);
    else other.set(img.class, (other.get(img.class) ?? 0) + 1);
  }
  return { scored, excluded: [...other].sort(([a], [b]) => a.localeCompare(b)).map(([c, n]) => ({ class: c, images: n })) };
}

/** A registered model version, a ready dataset version and one of its splits, checked and resolved. */
export interface ResolvedTarget {
  mv: ModelVersion;
  datasetVersion: string;
  split: EvaluationSplit;
  /** The split's images in manifest (object-key) order. */
  images: ManifestImage[];
}

/**
 * Resolves what a request names — a model (version, alias, or neither = `defaultAlias`, or the latest version when
 * that is undefined), a dataset version id or unambiguous prefix, a split — against the registry and the dataset
 * repository. Unknown names are NotFoundError, a dataset version still building or failed and an unknown split are
 * ValidationError; nothing from the request becomes a path or an object key.
 */
export async function resolveTarget(
  deps: { db: Db; registry: ModelRegistry },
  t: { model: string; version?: number; alias?: string; datasetVersion: string; split: string },
  o: { defaultAlias?: string } = {},
): Promise<ResolvedTarget> {
  if (!EVALUATION_SPLITS.includes(t.split as EvaluationSplit))
    throw new ValidationError(`split must be one of ${EVALUATION_SPLITS.join(', ')}, got '${String(t.split).slice(0, 40)}'`);
  const ref =
    t.version !== undefined ? { version: t.version } : t.alias !== undefined || o.defaultAlias !== undefined ? { alias: t.alias ?? o.defaultAlias } : {};
  const mv = await deps.registry.resolve(t.model, ref);
  const datasetVersion = await resolveVersionRef(deps.db, t.datasetVersion);
  const dv = await getVersion(deps.db, datasetVersion);
  if (dv.status !== 'ready') throw new ValidationError(`dataset version '${datasetVersion}' is ${dv.status}, not ready`, { datasetVersion, status: dv.status });
  const split = t.split as EvaluationSplit;
  return { mv, datasetVersion, split, images: await splitImages(deps.db, datasetVersion, split) };
}

/**
 * The model's raw logits [images × classes] for `images`, read from the object store by their manifest keys and
 * fed in batches; a model exported with a fixed batch dimension is fed exactly that many rows (the last batch
 * zero-padded). `progress` gets the number of images done after each batch.
 */
export async function modelLogits(
  model: LoadedModel,
  objects: ObjectStore,
  images: readonly ManifestImage[],
  o: { batchSize: number; signal?: AbortSignal; progress?: (done: number) => void | Promise<void> },
): Promise<Float32Array> {
  return (await modelOutputs(model, objects, images, { ...o, embeddings: false })).logits;
}

/**
 * modelLogits plus, with `embeddings` and a model that exports one, the pooled embeddings [images × dim] from the
 * same runs (the drift monitor's reference profile); `embeddings` is null otherwise.
 */
export async function modelOutputs(
  model: LoadedModel,
  objects: ObjectStore,
  images: readonly ManifestImage[],
  o: { batchSize: number; embeddings: boolean; signal?: AbortSignal; progress?: (done: number) => void | Promise<void> },
): Promise<{ logits: Float32Array; embeddings: Float32Array | null; dim: number | null }> {
  const k = model.metadata.classes.length;
  const { size, channels } = model.metadata.preprocessing;
  const plane = channels * size * size;
  const declared = model.metadata.input.shape[0];
  const fixed = typeof declared === 'number' && declared > 0 ? declared : null;
  const step = fixed ?? o.batchSize;
  const logits = new Float32Array(images.length * k);
  let embeddings: Float32Array | null = null;
  let dim: number | null = null;
  for (let start = 0; start < images.length; start += step) {
    o.signal?.throwIfAborted();
    const part = images.slice(start, start + step);
    const rows = fixed ?? part.length;
    const inputs = new Float32Array(rows * plane);
    const prepared = await Promise.all(part.map(async (img) => model.preprocess(await objects.getBytes(img.objectKey))));
    prepared.forEach((x, i) => inputs.set(x, i * plane));
    const out = o.embeddings ? await model.forward(inputs, rows) : { logits: await model.logits(inputs, rows), embeddings: null, dim: null };
    logits.set(out.logits.subarray(0, part.length * k), start * k);
    if (out.embeddings && out.dim) {
      dim = out.dim;
      embeddings ??= new Float32Array(images.length * dim);
      embeddings.set(out.embeddings.subarray(0, part.length * dim), start * dim);
    }
    await o.progress?.(start + part.length);
  }
  return { logits, embeddings, dim };
}

export async function runEvaluation(
  deps: RunEvaluationDeps,
  target: EvaluationTarget,
  o: { signal?: AbortSignal; progress?: (fraction: number) => Promise<void> } = {},
): Promise<EvaluationReport> {
  const images = await splitImages(deps.db, target.datasetVersion, target.split);
  const model = await deps.registry.loadForInference(target.model, { version: target.version }, { cacheDir: deps.cacheDir, threads: deps.threads });
  try {
    const classes = model.metadata.classes;
    const { scored, excluded } = partitionByClass(images, classes);
    if (scored.length === 0)
      throw new ValidationError(`split '${target.split}' of ${target.datasetVersion} has no images of the model's classes (${classes.join(', ')})`);
    const labels = scored.map((img) => classes.indexOf(img.class));
    const logits = await modelLogits(model, deps.objects, scored, {
      batchSize: deps.batchSize,
      signal: o.signal,
      progress: (done) => o.progress?.(done / scored.length),
    });
    const report = classifierReport({ logits, labels, classes, temperature: model.metadata.temperature });
    deps.logger.info(
      {
        model: target.model,
        version: target.version,
        datasetVersion: target.datasetVersion,
        split: target.split,
        images: scored.length,
        accuracy: report.accuracy,
      },
      'evaluation scored',
    );
    return { ...report, classes: [...classes], excluded };
  } finally {
    await model.close();
  }
}

/** Every image of a split with the model's probabilities for it, as serving computes them. */
export interface SplitPredictions {
  model: { name: string; version: number; classes: string[]; temperature: number };
  datasetVersion: string;
  split: EvaluationSplit;
  /** In manifest (object-key) order; `predictions`: softmax(logits / temperature) of every class, most probable first. */
  images: { image: ManifestImage; predictions: ClassProbability[] }[];
}

/**
 * Runs a resolved model version over every image of the split — including images of classes the model does not
 * know, which a deployment would also send it — and returns each image's probabilities exactly as serving turns
 * logits into them (softmax with the version's temperature, most probable first, ties in class order).
 */
export async function predictSplit(
  deps: Omit<RunEvaluationDeps, 'db'>,
  target: ResolvedTarget,
  o: { signal?: AbortSignal; progress?: (done: number, total: number) => void | Promise<void> } = {},
): Promise<SplitPredictions> {
  const { mv, images } = target;
  if (images.length === 0)
    throw new ValidationError(`split '${target.split}' of ${target.datasetVersion} has no images`, {
      datasetVersion: target.datasetVersion,
      split: target.split,
    });
  const model = await deps.registry.loadForInference(mv.name, { version: mv.version }, { cacheDir: deps.cacheDir, threads: deps.threads });
  try {
    const { classes, temperature } = model.metadata;
    const k = classes.length;
    const logits = await modelLogits(model, deps.objects, images, {
      batchSize: deps.batchSize,
      signal: o.signal,
      progress: (done) => o.progress?.(done, images.length),
    });
    const probs = softmaxRows(logits, k, temperature);
    const out = images.map((image, r) => ({ image, predictions: rankClasses(classes, probs, r) }));
    deps.logger.info(
      { model: mv.name, version: mv.version, datasetVersion: target.datasetVersion, split: target.split, images: images.length },
      'split predicted',
    );
    return {
      model: { name: mv.name, version: mv.version, classes: [...classes], temperature },
      datasetVersion: target.datasetVersion,
      split: target.split,
      images: out,
    };
  } finally {
    await model.close();
  }
}
