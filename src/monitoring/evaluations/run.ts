// The evaluation itself: a registered model version predicts every image of one split of a dataset version — read
// from the object store by the manifest's keys, never from a path — in batches, and the logits are scored with the
// training metrics (the same classifierReport the trainer writes to metrics.json).
import { ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { listImages } from '../../data/datasets/repository.js';
import type { ManifestImage } from '../../data/datasets/types.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';
import type { ModelRegistry } from '../../tracking/registry.js';
import { classifierReport } from '../../training/metrics/index.js';
import type { EvaluationReport, EvaluationSplit } from './types.js';

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
}

/** The split's images in manifest (object-key) order; `final_eval` = the flagged val ∪ test images. */
export async function splitImages(db: Db, datasetVersion: string, split: EvaluationSplit): Promise<ManifestImage[]> {
  if (split !== 'final_eval') return listImages(db, datasetVersion, { split });
  const held = [...(await listImages(db, datasetVersion, { split: 'val' })), ...(await listImages(db, datasetVersion, { split: 'test' }))].filter((i) => i.finalEval);
  return held.sort((a, b) => (a.objectKey < b.objectKey ? -1 : a.objectKey > b.objectKey ? 1 : 0));
}

/** Splits the images into those the model can be scored on (its classes) and a count of the rest per class. */
export function partitionByClass(images: readonly ManifestImage[], classes: readonly string[]): { scored: ManifestImage[]; excluded: { class: string; images: number }[] } {
  const known = new Set(classes);
  const scored: ManifestImage[] = [];
  const other = new Map<string, number>();
  for (const img of images) {
    if (known.has(img.class)) scored.push(img);
    else other.set(img.class, (other.get(img.class) ?? 0) + 1);
  }
  return { scored, excluded: [...other].sort(([a], [b]) => a.localeCompare(b)).map(([c, n]) => ({ class: c, images: n })) };
}

export async function runEvaluation(deps: RunEvaluationDeps, target: EvaluationTarget, o: { signal?: AbortSignal; progress?: (fraction: number) => Promise<void> } = {}): Promise<EvaluationReport> {
  const images = await splitImages(deps.db, target.datasetVersion, target.split);
  const model = await deps.registry.loadForInference(target.model, { version: target.version }, { cacheDir: deps.cacheDir });
  try {
    const classes = model.metadata.classes;
    const { scored, excluded } = partitionByClass(images, classes);
    if (scored.length === 0) throw new ValidationError(`split '${target.split}' of ${target.datasetVersion} has no images of the model's classes (${classes.join(', ')})`);
    const k = classes.length;
    const { size, channels } = model.metadata.preprocessing;
    const plane = channels * size * size;
    // A model exported with a fixed batch dimension is fed exactly that many rows (the last batch zero-padded).
    const declared = model.metadata.input.shape[0];
    const fixed = typeof declared === 'number' && declared > 0 ? declared : null;
    const step = fixed ?? deps.batchSize;
    const logits = new Float32Array(scored.length * k);
    const labels = scored.map((img) => classes.indexOf(img.class));
    for (let start = 0; start < scored.length; start += step) {
      o.signal?.throwIfAborted();
      const part = scored.slice(start, start + step);
      const rows = fixed ?? part.length;
      const inputs = new Float32Array(rows * plane);
      const prepared = await Promise.all(part.map(async (img) => model.preprocess(await deps.objects.getBytes(img.objectKey))));
      prepared.forEach((x, i) => inputs.set(x, i * plane));
      const out = await model.logits(inputs, rows);
      logits.set(out.subarray(0, part.length * k), start * k);
      await o.progress?.((start + part.length) / scored.length);
    }
    const report = classifierReport({ logits, labels, classes, temperature: model.metadata.temperature });
    deps.logger.info({ model: target.model, version: target.version, datasetVersion: target.datasetVersion, split: target.split, images: scored.length, accuracy: report.accuracy }, 'evaluation scored');
    return { ...report, classes: [...classes], excluded };
  } finally {
    await model.close();
  }
}
