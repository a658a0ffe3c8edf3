// The images a run trains and evaluates on, read from the per-split training caches of one or two dataset
// versions (built on first use). Sets:
// - train: the version's train split; when retraining, the base version's train split too, plus the chosen
//   share of the base version's final_eval images (deduplicated by sha256);
// - val:   val images NOT flagged final_eval — the model-selection set (early stopping, temperature);
// - test:  the test split;  final_eval: val ∪ test images flagged final_eval.
// Any image that training uses is removed from every evaluation set (lineage guarantees no test leakage even
// when retraining moves final_eval images into training).
import { ValidationError } from '../core/errors.js';
import type { ProgressFn } from '../core/progress.js';
import { subSeed } from '../core/rng.js';
import { buildCache, loadCache, type LoadedCache } from '../data/cache/index.js';
import { SECONDREAD_CLASSES } from '../data/classes.js';
import { type Split } from '../data/datasets/types.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ImageSet } from './data/batch.js';
import { classCounts } from './data/sampler.js';

export interface LabeledSet extends ImageSet {
  sha256: string[];
  finalEval: Uint8Array;
}

export interface TrainingData {
  train: LabeledSet;
  val: LabeledSet;
  test: LabeledSet;
  finalEval: LabeledSet;
  /** Images of each set per class (class order of SECONDREAD_CLASSES), for params and metrics.json. */
  counts: Record<'train' | 'val' | 'test' | 'finalEval', number[]>;
  addedFinalEval: number;
}

export interface DataRequest {
  db: Db;
  objects: ObjectStore;
  cacheDir: string;
  size: number;
  /** The version evaluated on (and trained on). */
  version: string;
  /** Retraining: the base model's version, whose train split is also used. */
  baseVersion?: string;
  addFinalEvalFraction?: number;
  seed: number;
  onProgress?: ProgressFn;
}

type VersionCaches = Record<Split, LoadedCache>;

async function loadVersion(req: DataRequest, version: string): Promise<VersionCaches> {
  const files = await buildCache({ db: req.db, objects: req.objects, versionId: version, size: req.size, dir: req.cacheDir, onProgress: req.onProgress });
  const out: Partial<VersionCaches> = {};
  for (const f of files) out[f.split] = await loadCache(f.path);
  return out as VersionCaches;
}

/** Rows of a cache file, with their sha256 (from the header). */
interface Row {
  cache: LoadedCache;
  index: number;
}

const rowsOf = (cache: LoadedCache): Row[] => Array.from({ length: cache.header.count }, (_, index) => ({ cache, index }));
const shaOf = (r: Row): string => r.cache.header.sha256[r.index] as string;
const isFinalEval = (r: Row): boolean => r.cache.finalEval[r.index] === 1;

function pack(rows: readonly Row[], size: number): LabeledSet {
  const px = size * size;
  const images = new Uint8Array(rows.length * px);
  const labels = new Uint8Array(rows.length);
  const finalEval = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    images.set(r.cache.image(r.index), i * px);
    labels[i] = r.cache.labels[r.index] as number;
    finalEval[i] = r.cache.finalEval[r.index] as number;
  });
  return { images, labels, finalEval, size, count: rows.length, sha256: rows.map(shaOf) };
}

/** Per class, the `fraction` of final_eval rows first in a seeded order of their sha256 (stable, reproducible). */
export function pickFinalEval(rows: readonly Row[], fraction: number, seed: number): Row[] {
  const byClass = new Map<number, Row[]>();
  for (const r of rows.filter(isFinalEval)) {
    const c = r.cache.labels[r.index] as number;
    const members = byClass.get(c) ?? [];
    members.push(r);
    byClass.set(c, members);
  }
  const picked: Row[] = [];
  for (const members of byClass.values()) {
    const ordered = members
      .map((r) => ({ r, key: subSeed(seed, 'final-eval', shaOf(r)) }))
      .sort((a, b) => a.key - b.key || shaOf(a.r).localeCompare(shaOf(b.r)));
    picked.push(...ordered.slice(0, Math.round(fraction * members.length)).map((o) => o.r));
  }
  return picked;
}

export async function loadTrainingData(req: DataRequest): Promise<TrainingData> {
  const primary = await loadVersion(req, req.version);
  const base = req.baseVersion && req.baseVersion !== req.version ? await loadVersion(req, req.baseVersion) : undefined;
  const baseOrPrimary = base ?? primary;

  const added = req.addFinalEvalFraction
    ? pickFinalEval([...rowsOf(baseOrPrimary.val), ...rowsOf(baseOrPrimary.test)], req.addFinalEvalFraction, req.seed)
    : [];
  const trainRows: Row[] = [];
  const inTrain = new Set<string>();
  for (const r of [...(base ? rowsOf(base.train) : []), ...rowsOf(primary.train), ...added]) {
    if (inTrain.has(shaOf(r))) continue;
    inTrain.add(shaOf(r));
    trainRows.push(r);
  }
  const unused = (rows: Row[]) => rows.filter((r) => !inTrain.has(shaOf(r)));
  const valAll = unused(rowsOf(primary.val));
  // Tiny versions may flag every val image final_eval: then the whole val split selects the model.
  const valSelection = valAll.filter((r) => !isFinalEval(r));
  const valRows = valSelection.length > 0 ? valSelection : valAll;
  const testRows = unused(rowsOf(primary.test));
  const finalRows = unused([...rowsOf(primary.val), ...rowsOf(primary.test)]).filter(isFinalEval);

  if (trainRows.length === 0) throw new ValidationError(`dataset version '${req.version}' has no training images`);
  if (valRows.length === 0) throw new ValidationError(`dataset version '${req.version}' has no validation images (needed for early stopping and calibration)`);
  const sets = { train: pack(trainRows, req.size), val: pack(valRows, req.size), test: pack(testRows, req.size), finalEval: pack(finalRows, req.size) };
  const n = SECONDREAD_CLASSES.length;
  return {
    ...sets,
    counts: {
      train: classCounts(sets.train.labels, n),
      val: classCounts(sets.val.labels, n),
      test: classCounts(sets.test.labels, n),
      finalEval: classCounts(sets.finalEval.labels, n),
    },
    addedFinalEval: added.length,
  };
}
