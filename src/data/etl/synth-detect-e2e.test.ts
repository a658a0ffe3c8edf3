// The detector's phantoms end to end: `data synth --task detect` writes the VinDr-CXR layout and a
// datasets.yaml; `data build` reads it like the real VinDr folder, and annotations.jsonl carries every
// reader's box plus the fused reference, which matches the true boxes far better than chance.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DETECTION_CLASSES } from '../classes.js';
import { listImages } from '../datasets/repository.js';
import { iou } from '../detection/types.js';
import { type DetectSynthResult, synthesizeDetection } from '../synth/index.js';
import { validateVersion } from '../validate/validate-version.js';
import { buildDataset } from './build.js';
import { loadDatasetConfig } from './config.js';
import { parseCsv } from './csv.js';
import { annotationsKey } from './naming.js';
import { type Fixture, openFixture } from './testing.js';

let fx: Fixture;
let synth: DetectSynthResult;
beforeAll(async () => {
  fx = await openFixture('sr-synth-detect-');
  synth = await synthesizeDetection({ outDir: join(fx.dir, 'raw'), images: 24, size: 96, normalFraction: 0.2, workers: 0 });
});
afterAll(async () => {
  await fx.cleanup();
});

interface Line {
  object_key: string;
  readers: string[];
  boxes: { label: string; reader: string; box: number[] }[];
  reference: { label: string; class_id: number; box: number[]; readers: string[]; score: number }[];
}

describe('synth --task detect → build', () => {
  it('writes the VinDr layout: one image per id, the annotations sheet with three readers each', async () => {
    const csv = parseCsv(await readFile(synth.csvPath, 'utf8'), 'annotations_train.csv');
    expect(csv.header).toEqual(['image_id', 'class_name', 'class_id', 'rad_id', 'x_min', 'y_min', 'x_max', 'y_max']);
    const ids = new Set(csv.rows.map((r) => r.image_id));
    expect(ids.size).toBe(24);
    for (const id of ids) expect(new Set(csv.rows.filter((r) => r.image_id === id).map((r) => r.rad_id)).size).toBe(3);
    for (const r of csv.rows) expect(r.class_name === 'No finding' ? r.class_id === '14' : DETECTION_CLASSES[Number(r.class_id)] === r.class_name).toBe(true);
  });

  it('builds with the written config; the fused reference finds the true boxes', async () => {
    const config = loadDatasetConfig(synth.configPath);
    expect(config.detection?.fusion).toEqual({ method: 'wbf', iou: 0.4, minReaders: 2 });
    const r = await buildDataset({ db: fx.db, objects: fx.objects, config });
    expect(r.report.images).toBe(24);
    const rows = await listImages(fx.db, r.versionId);
    const text = (await fx.objects.getBytes(annotationsKey(r.versionId))).toString('utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    expect(lines).toHaveLength(24);
    const truthById = new Map(synth.manifest.images.map((i) => [i.image_id, i.findings]));
    let truths = 0;
    let matched = 0;
    for (const line of lines) {
      expect(line.readers).toHaveLength(3);
      for (const ref of line.reference) expect(ref.readers.length).toBeGreaterThanOrEqual(2); // min_readers 2
      const entry = rows.find((x) => x.objectKey === line.object_key)!.entryPath; // train/<image_id>.png
      const truth = truthById.get(entry.slice('train/'.length, -'.png'.length))!;
      for (const t of truth) {
        truths += 1;
        const box = (b: number[]) => ({ classId: 0, x0: b[0]!, y0: b[1]!, x1: b[2]!, y1: b[3]! });
        if (line.reference.some((ref) => ref.class_id === t.classId && iou(t, box(ref.box)) >= 0.5)) matched += 1;
      }
    }
    expect(truths).toBeGreaterThan(20);
    expect(matched / truths).toBeGreaterThan(0.6);

    const report = await validateVersion(fx.db, r.versionId, { store: fx.objects });
    expect(report.readerAgreement?.readersPerImage).toEqual([3]);
    expect(report.readerAgreement?.classes).toHaveLength(14);
    const drawn = report.readerAgreement!.classes.filter((c) => c.pairF1 !== null);
    expect(drawn.length).toBeGreaterThan(5);
    // Simulated readers agree often but not always.
    const f1 = drawn.reduce((s, c) => s + c.pairF1!, 0) / drawn.length;
    expect(f1).toBeGreaterThan(0.3);
    expect(f1).toBeLessThan(0.99);
  });
});
