import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeManifest } from '../datasets/manifest.js';
import { listImages } from '../datasets/repository.js';
import type { ManifestImage } from '../datasets/types.js';
import { buildDataset } from '../etl/build.js';
import { loadDatasetConfig } from '../etl/config.js';
import { type Fixture, openFixture, writeSeedArchives } from '../etl/testing.js';
import { formatValidationReport } from './format.js';
import { validateImages } from './validate.js';
import { validateManifestFile, validateVersion } from './validate-version.js';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/datasets.yaml');

let fx: Fixture;
let versionId: string;
let rows: ManifestImage[];
beforeAll(async () => {
  fx = await openFixture('sr-validate-');
  await writeSeedArchives(fx.dir, { cxrPerClass: 6, tbPerClass: 6, octPatients: 4, octScans: 2 });
  versionId = (await buildDataset({ db: fx.db, objects: fx.objects, config: loadDatasetConfig(EXAMPLE, { rawDir: fx.dir }) })).versionId;
  rows = await listImages(fx.db, versionId);
});
afterAll(async () => {
  await fx.cleanup();
});

describe('validate', () => {
  it('passes a freshly built version, with counts, sizes and intensities', async () => {
    const r = await validateVersion(fx.db, versionId, { objects: fx.objects });
    expect(r.ok).toBe(true);
    expect(r.issues.filter((i) => i.level === 'error')).toEqual([]);
    expect(r.images).toBe(rows.length);
    expect(r.splitTotals.train + r.splitTotals.val + r.splitTotals.test).toBe(rows.length);
    expect(r.counts.train['oct-cnv'] + r.counts.val['oct-cnv'] + r.counts.test['oct-cnv']).toBe(8);
    expect(r.classStats['lung-covid']).toMatchObject({ images: 6, width: { min: 16, max: 16 } });
    expect(r.classStats['oct-dme']!.meanIntensity.mean).toBeGreaterThan(0);
    expect(formatValidationReport(r)).toContain(`dataset version ${versionId}: ${rows.length} images — OK`);
  });

  it('detects leakage in a hand-corrupted manifest: a patient in two splits, an image in two splits, final_eval in train', async () => {
    const oct = rows.filter((r) => r.patientKey);
    const patient = oct[0]!.patientKey!;
    const victim = oct.find((r) => r.patientKey === patient)!;
    const corrupted = rows.map((r) => (r === victim ? { ...r, split: r.split === 'train' ? ('test' as const) : ('train' as const), finalEval: false } : r));
    const copy = {
      ...rows[0]!,
      objectKey: `${rows[0]!.objectKey}.copy`,
      split: rows[0]!.split === 'train' ? ('val' as const) : ('train' as const),
      finalEval: false,
    };
    const flagged = rows.find((r) => r.split === 'train' && !r.patientKey && r !== rows[0])!;
    const all = [...corrupted.map((r) => (r === flagged ? { ...r, finalEval: true } : r)), copy];
    const file = join(fx.dir, 'manifest.jsonl');
    await writeFile(file, encodeManifest(all));
    const r = await validateManifestFile(file);
    expect(r.ok).toBe(false);
    expect(
      r.issues
        .filter((i) => i.level === 'error')
        .map((i) => i.code)
        .sort(),
    ).toEqual(['final_eval_outside_val_test', 'image_in_several_splits', 'patient_in_several_splits']);
    expect(r.issues.find((i) => i.code === 'patient_in_several_splits')!.message).toContain(patient);
    expect(formatValidationReport(r)).toContain('INVALID');
  });

  it('detects leakage written into the DB, and missing objects', async () => {
    const victim = rows.find((r) => r.patientKey)!;
    const sibling = rows.find((r) => r.patientKey === victim.patientKey && r !== victim)!;
    await fx.db
      .updateTable('dataset_images')
      .set({ split: sibling.split === 'train' ? 'val' : 'train' })
      .where('object_key', '=', victim.objectKey)
      .execute();
    await fx.objects.delete(rows[1]!.objectKey);
    const r = await validateVersion(fx.db, versionId, { objects: fx.objects });
    expect(r.ok).toBe(false);
    expect(r.issues.map((i) => i.code)).toEqual(expect.arrayContaining(['patient_in_several_splits', 'missing_object']));
  });

  it('warns about imbalance and classes missing from a split, without failing', () => {
    const base = rows[0]!;
    const mk = (i: number, cls: ManifestImage['class'], split: ManifestImage['split']): ManifestImage => ({
      ...base,
      sha256: i.toString(16).padStart(64, '0'),
      objectKey: `k${i}`,
      class: cls,
      split,
      patientKey: null,
      finalEval: false,
    });
    const images = [
      ...Array.from({ length: 40 }, (_, i) => mk(i, 'lung-normal', 'train')),
      ...Array.from({ length: 5 }, (_, i) => mk(100 + i, 'lung-covid', 'train')),
      mk(200, 'lung-covid', 'val'),
    ];
    const r = validateImages('x', images);
    expect(r.ok).toBe(true);
    expect(r.issues.map((i) => i.code)).toEqual(expect.arrayContaining(['imbalance', 'class_missing']));
    expect(validateImages('empty', []).ok).toBe(false);
  });
});
