// Test fixtures for the trainer: a migrated SQLite DB, a filesystem object store and a tracker in a temp folder,
// holding a small dataset version built from synthetic phantoms through the real ETL (synth → build); and
// in-memory phantom sets of a chosen difficulty.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { sha256Hex } from '../core/ids.js';
import { CLASS_MODALITY, SECONDREAD_CLASSES } from '../data/classes.js';
import { buildDataset } from '../data/etl/build.js';
import { loadDatasetConfig } from '../data/etl/config.js';
import { preprocessImage } from '../data/images/preprocess.js';
import { synthesizeArchives } from '../data/synth/index.js';
import { encodeGray, renderCxr, renderOct, Rng, subSeed } from '../data/synth/index.js';
import { type Db, migrateToLatest, openDatabase } from '../storage/db.js';
import { FsObjectStore } from '../storage/fs-object-store.js';
import { Tracker } from '../tracking/index.js';
import { classCounts } from './data/sampler.js';
import type { LabeledSet, TrainingData } from './dataset.js';

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
