// Test fixtures for evaluations: a tiny dataset version published through the dataset repository (uniform gray
// PNGs in the object store, a manifest in the DB) and a registered classifier whose answer is known in advance —
// it classifies by mean brightness — so each image's prediction, and so every figure, follows from the fixture.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sha256Hex } from '../../core/ids.js';
import type { SecondreadClass } from '../../data/classes.js';
import { beginBuild, completeBuild } from '../../data/datasets/repository.js';
import type { ManifestImage, Split } from '../../data/datasets/types.js';
import { grayPng } from '../../data/images/testing.js';
import { Graph } from '../../engine/index.js';
import { type Db, migrateToLatest, openDatabase } from '../../storage/db.js';
import { FsObjectStore } from '../../storage/fs-object-store.js';
import { ModelRegistry } from '../../tracking/registry.js';
import { Tracker } from '../../tracking/tracker.js';

/** The brightness classifier's classes: mean < 0.3 → first, 0.3…0.7 → second, > 0.7 → third. */
export const BRIGHTNESS_CLASSES = ['lung-normal', 'lung-covid', 'oct-cnv'] as const;
export const BRIGHTNESS_SIZE = 16;

/**
 * logits = [6 − 20·m, 0, 20·m − 14] of the image's mean m (pixels × 1/255): a real ONNX model built with the
 * engine's graph builder, imported like any classifier from another tool.
 */
export function brightnessClassifierOnnx(): Uint8Array {
  const s = BRIGHTNESS_SIZE;
  const g = new Graph('brightness');
  const x = g.input('input', 'float32', ['batch', 1, s, s]);
  const mean = g.op('Flatten', [g.op('ReduceMean', [x], { axes: [1, 2, 3], keepdims: 1 })]);
  const logits = g.op('Add', [g.op('MatMul', [mean, g.constant([-20, 0, 20], [1, 3])]), g.constant([6, 0, -14], [3])]);
  g.output(logits, 'logits');
  return g.toModelProto();
}

export const brightnessMeta = (classes: readonly string[] = BRIGHTNESS_CLASSES) => ({
  classes: [...classes],
  input: { name: 'input', shape: ['batch', 1, BRIGHTNESS_SIZE, BRIGHTNESS_SIZE] },
  output: { name: 'logits' },
  preprocessing: { size: BRIGHTNESS_SIZE, channels: 1, scale: 1 / 255, mean: 0, std: 1 },
  temperature: 1.5,
});

export interface FixtureImage {
  class: SecondreadClass;
  split: Split;
  /** Gray value 0…255 of the uniform image (distinct per image: distinct sha256). */
  value: number;
  finalEval?: boolean;
}

/**
 * The fixture's images. With the brightness classifier: test has 10 images of the model's classes, 8 right
 * (lung-normal 120 → lung-covid, oct-cnv 130 → lung-covid are wrong) and 2 oct-dme it does not know.
 */
export const FIXTURE_IMAGES: readonly FixtureImage[] = [
  { class: 'lung-normal', split: 'test', value: 20, finalEval: true },
  { class: 'lung-normal', split: 'test', value: 30 },
  { class: 'lung-normal', split: 'test', value: 40 },
  { class: 'lung-normal', split: 'test', value: 120 },
  { class: 'lung-covid', split: 'test', value: 115 },
  { class: 'lung-covid', split: 'test', value: 125 },
  { class: 'lung-covid', split: 'test', value: 135 },
  { class: 'oct-cnv', split: 'test', value: 220 },
  { class: 'oct-cnv', split: 'test', value: 230 },
  { class: 'oct-cnv', split: 'test', value: 130 },
  { class: 'oct-dme', split: 'test', value: 200 },
  { class: 'oct-dme', split: 'test', value: 210 },
  { class: 'lung-normal', split: 'val', value: 50, finalEval: true },
  { class: 'lung-normal', split: 'val', value: 60 },
  { class: 'lung-covid', split: 'val', value: 140, finalEval: true },
  { class: 'lung-covid', split: 'val', value: 150 },
  { class: 'oct-cnv', split: 'val', value: 240, finalEval: true },
  { class: 'lung-normal', split: 'train', value: 10 },
  { class: 'lung-covid', split: 'train', value: 145 },
  { class: 'oct-cnv', split: 'train', value: 250 },
];

/** Publishes `images` as a ready dataset version (objects under datasets/<id>/images/…); returns the id. */
export async function publishTinyVersion(
  db: Db,
  objects: FsObjectStore,
  images: readonly FixtureImage[] = FIXTURE_IMAGES,
  id = `ds-${sha256Hex(JSON.stringify(images)).slice(0, 20)}`,
): Promise<string> {
  const now = new Date().toISOString();
  await beginBuild(db, { id, name: 'evaluation fixture', inputs: { fixture: true }, now });
  const manifest: ManifestImage[] = [];
  for (const [i, img] of images.entries()) {
    const bytes = await grayPng(BRIGHTNESS_SIZE, BRIGHTNESS_SIZE, () => img.value);
    const fileName = `fixture-${img.class}-${i}.png`;
    const objectKey = `datasets/${id}/images/${img.class}/${fileName}`;
    await objects.put(objectKey, bytes);
    manifest.push({
      sha256: sha256Hex(bytes),
      objectKey,
      fileName,
      dataset: 'fixture',
      sourceArchive: 'fixture.zip',
      archiveSha256: '0'.repeat(64),
      entryPath: `${img.class}/${fileName}`,
      sourceClass: img.class,
      class: img.class,
      split: img.split,
      finalEval: img.finalEval ?? false,
      patientKey: null,
      width: BRIGHTNESS_SIZE,
      height: BRIGHTNESS_SIZE,
      bytes: bytes.length,
      format: 'png',
      bitDepth: 8,
      meanIntensity: img.value,
      stdIntensity: 0,
    });
  }
  await completeBuild(db, id, manifest, { fixture: true }, now);
  return id;
}

export interface EvaluationFixture {
  /** Laid out as a SECONDREAD_HOME (secondread.db, objects/), so a `secondread` process can share it. */
  home: string;
  db: Db;
  objects: FsObjectStore;
  registry: ModelRegistry;
  datasetVersion: string;
  /** 'brightness', version 1, alias production. */
  model: string;
  close(): Promise<void>;
}

export async function openEvaluationFixture(): Promise<EvaluationFixture> {
  const home = mkdtempSync(join(tmpdir(), 'secondread-eval-'));
  const db = openDatabase({ sqlitePath: join(home, 'secondread.db') });
  const objects = new FsObjectStore(join(home, 'objects'));
  const close = async () => {
    await objects.close();
    await db.destroy();
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await migrateToLatest(db);
    const registry = new ModelRegistry(db, objects, new Tracker(db, objects));
    const mv = await registry.importOnnxBytes({ name: 'brightness', bytes: brightnessClassifierOnnx(), meta: brightnessMeta(), by: 'fixture' });
    await registry.setAlias(mv.name, 'production', mv.version, { by: 'fixture', reason: 'evaluation fixture' });
    const datasetVersion = await publishTinyVersion(db, objects);
    return { home, db, objects, registry, datasetVersion, model: mv.name, close };
  } catch (err) {
    await close();
    throw err;
  }
}
