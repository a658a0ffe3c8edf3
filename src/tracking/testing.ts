// Test fixtures for tracking: a migrated test database and a filesystem object store in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Clock } from '../core/clock.js';
import { PREPROCESS_POLICY } from '../data/images/preprocess.js';
import { EXPORT_METADATA, exportInferenceModel, Graph, type StoredTensor } from '../engine/index.js';
import { detectorConfig } from '../models/detector.js';
import { detectionMetadata, type DetectionThresholds, detectorInference } from '../models/detector-export.js';
import { classifier, modelConfig } from '../models/index.js';
import { spreadDetectorWeights } from '../models/testing.js';
import type { DbDialect } from '../storage/db.js';
import { FsObjectStore } from '../storage/fs-object-store.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { TEMPERATURE_METADATA_KEY } from './model-metadata.js';
import { Tracker } from './tracker.js';

export interface TrackingFixture {
  t: TestDatabase;
  objects: FsObjectStore;
  tracker: Tracker;
  dir: string;
  close(): Promise<void>;
}

export async function openTrackingFixture(dialect: DbDialect = 'sqlite', clock?: Clock): Promise<TrackingFixture> {
  const t = await openTestDatabase(dialect);
  const dir = mkdtempSync(join(tmpdir(), 'secondread-tracking-'));
  const objects = new FsObjectStore(join(dir, 'objects'));
  return {
    t,
    objects,
    dir,
    tracker: new Tracker(t.db, objects, clock),
    close: async () => {
      await objects.close();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Class names of the small test models (3 classes keeps them tiny). */
export const TEST_CLASSES = ['lung-normal', 'lung-covid', 'oct-cnv'] as const;

export interface TinyModelOptions {
  classes?: readonly string[];
  /** The architecture (default vit-tiny; the serving benchmarks use vit-small, saliency also cnn-tiny). */
  variant?: 'vit-tiny' | 'vit-small' | 'cnn-tiny';
  /** Normalization the "training" used. */
  mean?: number;
  std?: number;
  temperature?: number;
  seed?: number;
  /** Leave out metadata_props, as a model exported by another tool would. */
  bare?: boolean;
}

/** An untrained model (vit-tiny unless `variant` says otherwise) exported by our engine, with the metadata the trainer writes. */
export function tinyVitOnnx(o: TinyModelOptions = {}): { bytes: Uint8Array; size: number; classes: readonly string[] } {
  const classes = o.classes ?? TEST_CLASSES;
  const cfg = modelConfig(o.variant ?? 'vit-tiny', { numClasses: classes.length, dropout: 0 });
  const build = classifier(cfg);
  const g = new Graph('init', { mode: 'eval', seed: o.seed ?? 3 });
  build(g);
  const weights = new Map<string, StoredTensor>(g.state().map((p) => [p.name, { dtype: p.dtype, shape: [...p.shape], data: p.values() }]));
  const exported = exportInferenceModel(build, {
    weights,
    ...(o.bare
      ? {}
      : {
          classNames: classes,
          preprocessing: {
            policy: PREPROCESS_POLICY.name,
            policyVersion: PREPROCESS_POLICY.version,
            size: cfg.imageSize,
            channels: 1,
            layout: 'NCHW',
            dtype: 'float32',
            scale: 1 / 255,
            mean: o.mean ?? 0.3,
            std: o.std ?? 0.2,
          },
          model: cfg,
          metadata: { [TEMPERATURE_METADATA_KEY]: JSON.stringify(o.temperature ?? 1.5) },
        }),
  });
  return { bytes: exported.bytes, size: cfg.imageSize, classes };
}

/** A finished run holding model.onnx (a tiny ViT) and a metrics.json shaped like the trainer's. */
export async function finishedRunWithModel(tracker: Tracker, o: TinyModelOptions & { datasetVersion?: string } = {}): Promise<string> {
  const model = tinyVitOnnx(o);
  const run = await tracker.startRun({ experiment: 'registry-test', params: { model: 'vit-tiny', epochs: 1 }, datasetVersion: o.datasetVersion ?? 'ds_test' });
  await tracker.putArtifact(run.id, 'model.onnx', model.bytes);
  const perClass = model.classes.map((c, i) => ({
    class: c,
    precision: 0.9 - 0.1 * i,
    recall: 0.95 - 0.1 * i,
    f1: 0.9 - 0.1 * i,
    auc: 0.97,
    support: 40 - 15 * i,
    predicted: 40,
  }));
  const report = {
    count: 90,
    accuracy: 0.86,
    macroF1: 0.8,
    macroAuc: 0.97,
    nll: 0.41,
    ece: 0.03,
    eceUncalibrated: 0.09,
    temperature: o.temperature ?? 1.5,
    perClass,
  };
  await tracker.putArtifact(
    run.id,
    'metrics.json',
    JSON.stringify({
      calibration: { temperature: o.temperature ?? 1.5, nllBefore: 0.5, nllAfter: 0.41, fittedOn: 'val' },
      val: report,
      test: report,
      finalEval: null,
    }),
  );
  await tracker.finishRun(run.id, 'finished', { test_accuracy: 0.86 });
  return run.id;
}

/** Box classes of the tiny test detector (three of the 14 VinDr findings). */
export const TEST_DETECTION_CLASSES = ['Cardiomegaly', 'Nodule/Mass', 'Pleural effusion'] as const;

/**
 * An untrained det-nano (64 px, 3 classes) exported by the engine with NMS in the graph and the metadata the
 * trainer writes. Its head biases are spread (as detector-export.test.ts does) so that boxes and scores vary
 * across anchors and images: an untrained head scores every anchor alike.
 */
export function tinyDetectorOnnx(o: { seed?: number; thresholds?: DetectionThresholds } = {}): {
  bytes: Uint8Array;
  size: number;
  classes: readonly string[];
  thresholds: DetectionThresholds;
} {
  const cfg = detectorConfig('det-nano', { imageSize: 64, numClasses: TEST_DETECTION_CLASSES.length });
  const thresholds = o.thresholds ?? { scoreThreshold: 0.3, iouThreshold: 0.5, maxDetections: 12 };
  const weights = spreadDetectorWeights(cfg, o.seed ?? 9);
  const exported = exportInferenceModel(detectorInference(cfg, thresholds), {
    weights,
    preprocessing: {
      policy: PREPROCESS_POLICY.name,
      policyVersion: PREPROCESS_POLICY.version,
      size: cfg.imageSize,
      channels: 1,
      scale: 1 / 255,
      mean: 0.5,
      std: 0.25,
    },
    model: cfg,
    // The box classes go in as metadata: classNames would be checked against the raw head's width (4·16 + classes).
    metadata: { ...detectionMetadata(cfg, thresholds), [EXPORT_METADATA.classes]: JSON.stringify(TEST_DETECTION_CLASSES) },
  });
  return { bytes: exported.bytes, size: cfg.imageSize, classes: TEST_DETECTION_CLASSES, thresholds };
}

/** A finished run holding model.onnx: the tiny detector above. */
export async function finishedRunWithDetector(tracker: Tracker, o: { seed?: number; thresholds?: DetectionThresholds } = {}): Promise<string> {
  const run = await tracker.startRun({ experiment: 'registry-test', params: { model: 'det-nano', epochs: 0 }, datasetVersion: 'ds_test' });
  await tracker.putArtifact(run.id, 'model.onnx', tinyDetectorOnnx(o).bytes);
  await tracker.finishRun(run.id, 'finished', {});
  return run.id;
}
