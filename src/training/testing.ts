// Test fixtures for the trainer: a migrated SQLite DB, a filesystem object store and a tracker in a temp folder,
// holding a small dataset version built from synthetic phantoms through the real ETL (synth → build); in-memory
// phantom sets of a chosen difficulty; a detection version (synth --task detect → build); and in-memory box sets
// of a trivial detection task.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { sha256Hex } from '../core/ids.js';
import { CLASS_MODALITY, SECONDREAD_CLASSES } from '../data/classes.js';
import { buildDataset } from '../data/etl/build.js';
import { loadDatasetConfig } from '../data/etl/config.js';
import { preprocessImage } from '../data/images/preprocess.js';
import { synthesizeArchives, synthesizeDetection } from '../data/synth/index.js';
import { encodeGray, renderCxr, renderOct, Rng, subSeed } from '../data/synth/index.js';
import { detectorConfig } from '../models/detector.js';
import { type Db, migrateToLatest, openDatabase } from '../storage/db.js';
import { FsObjectStore } from '../storage/fs-object-store.js';
import { Tracker } from '../tracking/index.js';
import type { BoxTable } from './data/batch.js';
import { classCounts } from './data/sampler.js';
import type { LabeledSet, TrainingData } from './dataset.js';
import { applyRecipe, parseTrainOptions, type TrainOptionsInput } from './options.js';
import type { RunPlan } from './plan.js';
import { startTraining, type TrainerDeps, type TrainResult } from './trainer.js';

const EXAMPLE_CONFIG = resolve(import.meta.dirname, '../../examples/datasets.yaml');

export interface TrainingFixture {
  /** The folder is laid out as a SECONDREAD_HOME: secondread.db, objects/, cache/. */
  home: string;
  db: Db;
  objects: FsObjectStore;
  tracker: Tracker;
  cacheDir: string;
  /** The built dataset version ('' when the fixture was opened without one). */
  versionId: string;
  close(): Promise<void>;
}

export interface FixtureOptions {
  perClass?: number;
  /** Synthetic image side (small: fast to render, decode and cache). */
  imageSize?: number;
  seed?: number;
  /** false: no dataset (tracker and stores only). */
  dataset?: boolean;
}

export async function openTrainingFixture(o: FixtureOptions = {}): Promise<TrainingFixture> {
  const home = await mkdtemp(join(tmpdir(), 'secondread-train-'));
  const db = openDatabase({ sqlitePath: join(home, 'secondread.db') });
  const objects = new FsObjectStore(join(home, 'objects'));
  const close = async () => {
    await db.destroy();
    await objects.close();
    await rm(home, { recursive: true, force: true });
  };
  try {
    await migrateToLatest(db);
    const tracker = new Tracker(db, objects);
    if (o.dataset === false) return { home, db, objects, tracker, cacheDir: join(home, 'cache'), versionId: '', close };
    const versionId = await buildSyntheticVersion({ db, objects, home }, o);
    return { home, db, objects, tracker, cacheDir: join(home, 'cache'), versionId, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Synthesizes phantom archives (under home/raw-<seed>) and builds them into a dataset version; returns its id. */
export async function buildSyntheticVersion(fx: Pick<TrainingFixture, 'db' | 'objects' | 'home'>, o: FixtureOptions = {}): Promise<string> {
  const size = o.imageSize ?? 64;
  const raw = join(fx.home, `raw-${o.seed ?? 1}`);
  await synthesizeArchives({ outDir: raw, perClass: o.perClass ?? 40, seed: o.seed, cxrSize: size, octWidth: size, octHeight: size - 2, workers: 0 });
  const built = await buildDataset({ db: fx.db, objects: fx.objects, config: loadDatasetConfig(EXAMPLE_CONFIG, { rawDir: raw }) });
  return built.versionId;
}

/** Starts a run and interrupts it (as Ctrl-C does) once `steps` training steps have reported their progress. */
export function interruptedRun(deps: TrainerDeps, options: TrainOptionsInput, steps: number): Promise<TrainResult> {
  const controller = new AbortController();
  let seen = 0;
  const onProgress: TrainerDeps['onProgress'] = (p) => {
    if (p.phase.startsWith('epoch') && ++seen === steps) controller.abort();
  };
  return startTraining({ ...deps, signal: controller.signal, onProgress }, options);
}

export interface PhantomSetOptions {
  /** Images per class in train / val / test. */
  perClass: { train: number; val: number; test: number };
  /** Model input side. */
  size: number;
  /** Side the phantoms are rendered at before letterboxing to `size`. */
  renderSize?: number;
  /** Finding conspicuity in (0, 1]; 1 = obvious (the data generator's own draw is used when absent). */
  severity?: number;
  seed?: number;
}

/**
 * Train/val/test sets of synthetic phantoms rendered in memory (no archives, no DB) and preprocessed by the same
 * function as the training cache: for tests of what the trainer learns, on data with a known difficulty.
 */
export async function phantomSets(o: PhantomSetOptions): Promise<TrainingData> {
  const render = o.renderSize ?? 2 * o.size;
  const make = async (split: 'train' | 'val' | 'test'): Promise<LabeledSet> => {
    const n = o.perClass[split];
    const images = new Uint8Array(SECONDREAD_CLASSES.length * n * o.size * o.size);
    const labels = new Uint8Array(SECONDREAD_CLASSES.length * n);
    const sha256: string[] = [];
    let row = 0;
    for (const [ci, cls] of SECONDREAD_CLASSES.entries()) {
      for (let k = 0; k < n; k++) {
        const rng = new Rng(subSeed(o.seed ?? 1, split, cls, k));
        const opts = { width: render, height: render, ...(o.severity !== undefined ? { severity: o.severity } : {}) };
        const img = CLASS_MODALITY[cls] === 'cxr' ? renderCxr(cls, rng, opts) : renderOct(cls, rng, opts);
        const png = await encodeGray(img, 'png');
        images.set(await preprocessImage(png, o.size), row * o.size * o.size);
        labels[row] = ci;
        sha256.push(sha256Hex(png));
        row++;
      }
    }
    return { images, labels, finalEval: new Uint8Array(row), size: o.size, count: row, sha256 };
  };
  const [train, val, test] = [await make('train'), await make('val'), await make('test')];
  const empty: LabeledSet = { images: new Uint8Array(0), labels: new Uint8Array(0), finalEval: new Uint8Array(0), size: o.size, count: 0, sha256: [] };
  const n = SECONDREAD_CLASSES.length;
  return {
    train,
    val,
    test,
    finalEval: empty,
    counts: {
      train: classCounts(train.labels, n),
      val: classCounts(val.labels, n),
      test: classCounts(test.labels, n),
      finalEval: new Array<number>(n).fill(0),
    },
    addedFinalEval: 0,
  };
}

/** `data synth --task detect` (`images` phantoms of side `size`) built into a detection version; returns its id. */
export async function buildSyntheticDetectionVersion(
  fx: Pick<TrainingFixture, 'db' | 'objects' | 'home'>,
  o: { images: number; size: number; seed?: number },
): Promise<string> {
  const synth = await synthesizeDetection({ outDir: join(fx.home, `raw-detect-${o.seed ?? 1}`), images: o.images, size: o.size, seed: o.seed, workers: 0 });
  return (await buildDataset({ db: fx.db, objects: fx.objects, config: loadDatasetConfig(synth.configPath) })).versionId;
}

export interface BoxSetOptions {
  /** Images in train / val / test. */
  count: { train: number; val: number; test: number };
  /** Image side (the model input). */
  size: number;
  seed?: number;
}

/**
 * A trivial detection task in memory: dark noisy images with one or two bright objects, class 0 a filled square and
 * class 1 a hollow square (a ring 3 px thick), 12–24 px, never overlapping; their exact boxes are the truth.
 */
export function boxSets(o: BoxSetOptions): TrainingData {
  const S = o.size;
  const make = (split: 'train' | 'val' | 'test'): LabeledSet => {
    const n = o.count[split];
    const images = new Uint8Array(n * S * S);
    const coords: number[] = [];
    const classes: number[] = [];
    const offsets = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) {
      const rng = new Rng(subSeed(o.seed ?? 1, 'boxes', split, i));
      const img = images.subarray(i * S * S, (i + 1) * S * S);
      for (let k = 0; k < img.length; k++) img[k] = 20 + rng.int(0, 20);
      const placed: number[][] = [];
      const objects = rng.int(1, 2);
      for (let tries = 0; placed.length < objects && tries < 50; tries++) {
        const side = rng.int(12, 24);
        const [x0, y0] = [rng.int(0, S - side), rng.int(0, S - side)];
        const box = [x0, y0, x0 + side, y0 + side];
        if (placed.some((b) => box[0]! < b[2]! + 2 && b[0]! < box[2]! + 2 && box[1]! < b[3]! + 2 && b[1]! < box[3]! + 2)) continue;
        const cls = rng.int(0, 1);
        for (let y = y0; y < y0 + side; y++)
          for (let x = x0; x < x0 + side; x++) {
            const edge = Math.min(x - x0, y - y0, x0 + side - 1 - x, y0 + side - 1 - y);
            if (cls === 0 || edge < 3) img[y * S + x] = 200 + rng.int(0, 40);
          }
        placed.push(box);
        coords.push(...box);
        classes.push(cls);
      }
      offsets[i + 1] = classes.length;
    }
    const boxes: BoxTable = { coords: Float32Array.from(coords), classes: Uint8Array.from(classes), offsets };
    const sha256 = Array.from({ length: n }, (_, i) => sha256Hex(`${split}:${i}`));
    return { images, labels: new Uint8Array(n), finalEval: new Uint8Array(n), size: S, count: n, sha256, boxes };
  };
  const [train, val, test] = [make('train'), make('val'), make('test')];
  const k = SECONDREAD_CLASSES.length;
  const empty: LabeledSet = { ...make('test'), images: new Uint8Array(0), labels: new Uint8Array(0), finalEval: new Uint8Array(0), count: 0, sha256: [] };
  empty.boxes = { coords: new Float32Array(0), classes: new Uint8Array(0), offsets: new Uint32Array(1) };
  const counts = (set: LabeledSet) => classCounts(set.labels, k);
  return {
    train,
    val,
    test,
    finalEval: empty,
    counts: { train: counts(train), val: counts(val), test: counts(test), finalEval: counts(empty) },
    addedFinalEval: 0,
  };
}

/** The input side of the detection tests' det-nano. */
export const DETECT_TEST_SIZE = 64;

/**
 * The plan of a detection test's run on in-memory boxes (boxSets): det-nano's structure at half its width on
 * 64 px inputs, the 14 VinDr classes (the box task uses the first two), det-nano's recipe under `given`.
 */
export function detectTestPlan(given: TrainOptionsInput): RunPlan {
  const options = parseTrainOptions({ dataset: 'in-memory-boxes', model: 'det-nano', task: 'detect', ...given });
  return {
    options: { ...applyRecipe(options, 'det-nano', { architecture: false }), dataset: 'in-memory-boxes', model: 'det-nano', size: DETECT_TEST_SIZE },
    model: detectorConfig('det-nano', { imageSize: DETECT_TEST_SIZE, width: 0.125 }),
  };
}
