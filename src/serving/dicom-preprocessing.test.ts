// The same DICOM file gives the same tensor through the training cache and through serving (issue 16):
// DICOMs in many transfer syntaxes, MONOCHROME1 and MONOCHROME2, non-square, some with PHI, are built
// into a dataset version by the ETL (de-identified on ingest), cached by the training cache, batched by
// the trainer's prepareBatch (evaluation path), and compared bit for bit with what serving computes —
// from the stored de-identified instance and from the identified original a modality would send to
// predict (de-identification must not move a pixel). Then predict on the original equals inference on
// the trainer's tensor.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import { writeTestZip } from '../data/archive/testing.js';
import { listImages } from '../data/datasets/repository.js';
import { cxrDicom, phiDicom } from '../data/dicom/testing.js';
import type { PixelImage, WritableSyntax } from '../data/dicom/write.js';
import { buildDataset } from '../data/etl/build.js';
import { parseDatasetConfig } from '../data/etl/config.js';
import { type Fixture, openFixture } from '../data/etl/testing.js';
import { ModelRegistry } from '../tracking/registry.js';
import { finishedRunWithModel } from '../tracking/testing.js';
import { Tracker } from '../tracking/tracker.js';
import { prepareBatch } from '../training/data/batch.js';
import { loadTrainingData } from '../training/dataset.js';
import { ModelRuntime } from './runtime.js';
import { ServingService } from './service.js';

const NORM = { mean: 0.41731, std: 0.23109 };
const KEY = Buffer.alloc(32, 11);
const SYNTAXES: WritableSyntax[] = ['explicit-le', 'implicit-le', 'deflated', 'rle', 'jpeg-ls', 'jpeg2000'];
const DCMTK = resolve(import.meta.dirname, '../data/dicom/testdata');

let fx: Fixture;
let versionId: string;
let registry: ModelRegistry;
let service: ServingService;
/** The identified originals, by archive entry path. */
const originals = new Map<string, Buffer>();

/** 12 bits stored in 16, width×height, unique per seed; MONOCHROME1 stores the inverted values. */
function image(seed: number, width: number, height: number, monochrome1: boolean): PixelImage {
  const pixels = new Uint16Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = (Math.round(2000 + 1500 * Math.sin((x + seed) / 5) * Math.cos(y / 7)) + seed * 13) & 4095;
      pixels[y * width + x] = monochrome1 ? 4095 - v : v;
    }
  return { width, height, bitsAllocated: 16, bitsStored: 12, signed: false, samplesPerPixel: 1, pixels };
}

beforeAll(async () => {
  fx = await openFixture('sr-serving-dicom-');
  const entries: { name: string; data: Buffer }[] = [];
  let seed = 0;
  for (const folder of ['normal', 'covid']) {
    for (const syntax of SYNTAXES) {
      for (const m1 of [false, true]) {
        seed += 1;
        const [w, h] = seed % 3 ? [40, 28] : [30, 44];
        const extra = { PatientID: `P${seed}`, PhotometricInterpretation: m1 ? 'MONOCHROME1' : 'MONOCHROME2', WindowCenter: 1900 + seed, WindowWidth: 3000 };
        const bytes = seed % 5 === 0 ? await phiDicom(`PHI${seed}X`, syntax, image(seed, w, h, m1)) : await cxrDicom(image(seed, w, h, m1), syntax, extra);
        entries.push({ name: `set/${folder}/${syntax}-${m1 ? 'm1' : 'm2'}-${seed}.dcm`, data: Buffer.from(bytes) });
      }
    }
  }
  // Files DCMTK encoded (JPEG lossless process 14 and SV1, its RLE and JPEG-LS, big endian).
  for (const f of ['jpeg-lossless-p14.dcm', 'jpeg-lossless-sv1.dcm', 'rle-dcmtk.dcm', 'jpeg-ls-dcmtk.dcm', 'big-endian-dcmtk.dcm'])
    entries.push({ name: `set/normal/dcmtk-${f}`, data: await readFile(join(DCMTK, f)) });
  for (const e of entries) originals.set(e.name, e.data);
  await writeTestZip(join(fx.dir, 'dicoms.zip'), entries);
  const config = parseDatasetConfig(
    {
      sources: [
        {
          dataset: 'dicom-set',
          archive: 'dicoms.zip',
          format: 'zip',
          classes: [
            { source: 'normal', class: 'lung-normal', glob: 'set/normal/*.dcm' },
            { source: 'covid', class: 'lung-covid', glob: 'set/covid/*.dcm' },
          ],
        },
      ],
    },
    fx.dir,
  );
  const built = await buildDataset({ db: fx.db, objects: fx.objects, config, dicom: { key: KEY } });
  expect(built.report.quarantined.count).toBe(0);
  expect(built.report.images).toBe(entries.length);
  versionId = built.versionId;
  const tracker = new Tracker(fx.db, fx.objects);
  registry = new ModelRegistry(fx.db, fx.objects, tracker);
  const runId = await finishedRunWithModel(tracker, { ...NORM, datasetVersion: versionId });
  await registry.register({ runId, name: 'cxr', by: 'test' });
  await registry.setAlias('cxr', 'production', 1, { by: 'test', reason: 'test' });
  service = new ServingService({ registry, db: fx.db, logger: silentLogger }, { threads: 1, aliasPollMs: 0 });
});
afterAll(async () => {
  await service?.close();
  await fx?.cleanup();
});

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('DICOM: serving preprocessing = training preprocessing', () => {
  it('the training cache + trainer batch and serving give bit-identical tensors, from the stored instance and from the original', async () => {
    const size = 32; // vit-tiny's input
    const data = await loadTrainingData({ db: fx.db, objects: fx.objects, cacheDir: join(fx.dir, 'cache'), size, version: versionId, seed: 1 });
    const bySha = new Map((await listImages(fx.db, versionId)).map((i) => [i.sha256, i]));
    expect(new Set([...bySha.values()].map((i) => i.format))).toEqual(new Set(['dicom']));
    const runtime = await ModelRuntime.start(await registry.loadForInference('cxr', { version: 1 }, { threads: 1 }));
    try {
      const compared = new Set<string>();
      // val leaves out its final_eval images (they are in finalEval): all four sets cover the version.
      for (const set of [data.train, data.val, data.test, data.finalEval]) {
        const rows = Array.from({ length: set.count }, (_, i) => i);
        const trained = prepareBatch(set, { rows, augment: null, norm: NORM, seed: 0, epoch: 0, position: 0 }).images;
        for (const row of rows) {
          const img = bySha.get(set.sha256[row]!)!;
          const expected = trained.subarray(row * size * size, (row + 1) * size * size);
          const stored = await fx.objects.getBytes(img.objectKey);
          expect(same(await runtime.preprocess(stored), expected), `${img.entryPath} (stored)`).toBe(true);
          expect(same(await runtime.preprocess(originals.get(img.entryPath)!), expected), `${img.entryPath} (original)`).toBe(true);
          compared.add(img.sha256);
        }
      }
      expect(compared.size).toBe(originals.size);

      // End to end: predict on the identified original = inference on the trainer's tensor.
      const row = 0;
      const tensor = prepareBatch(data.train, { rows: [row], augment: null, norm: NORM, seed: 0, epoch: 0, position: 0 }).images;
      const logits = (await service.infer('cxr', { data: tensor, shape: [1, 1, size, size] })).outputs[0]!.data as Float32Array;
      const p = await service.predict('cxr', originals.get(bySha.get(data.train.sha256[row]!)!.entryPath)!);
      const probs = runtime.classify(logits);
      expect(p.predictions.map((c) => c.class)).toEqual(probs.map((c) => c.class));
      p.predictions.forEach((c, i) => expect(c.probability).toBeCloseTo(probs[i]!.probability, 6));
    } finally {
      await runtime.close();
    }
  });
});
