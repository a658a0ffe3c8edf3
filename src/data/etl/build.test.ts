import { join, resolve } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { UnsafeArchiveError } from '../../core/errors.js';
import { patchFile, writeTestTarGz, writeTestZip } from '../archive/testing.js';
import { parseManifest } from '../datasets/manifest.js';
import { findVersion, listImages } from '../datasets/repository.js';
import { grayPng, truncated } from '../images/testing.js';
import { findLeaks } from '../validate/leakage.js';
import { buildDataset } from './build.js';
import { loadDatasetConfig, parseDatasetConfig } from './config.js';
import { manifestKey } from './naming.js';
import { type Fixture, OCT_FOLDERS, openFixture, uniqueJpeg, uniquePng, writeSeedArchives } from './testing.js';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/datasets.yaml');

let fx: Fixture;
beforeEach(async () => {
  fx = await openFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of fx.objects.list(prefix)) keys.push(o.key);
  return keys;
}

const tbSource = (archive: string, extra: Record<string, unknown> = {}) => ({
  dataset: 'tb',
  archive,
  format: 'zip',
  classes: [
    { source: 'Tuberculosis', class: 'lung-tuberculosis', glob: '**/Tuberculosis/*.png' },
    { source: 'Normal', class: 'lung-normal', glob: '**/Normal/*.png' },
  ],
  ...extra,
});

describe('buildDataset', () => {
  it('builds the example config into a ready version: objects, manifest rows, manifest.jsonl; rerun is a no-op', async () => {
    await writeSeedArchives(fx.dir);
    const config = loadDatasetConfig(EXAMPLE, { rawDir: fx.dir });
    const first = await buildDataset({ db: fx.db, objects: fx.objects, config });
    expect(first.built).toBe(true);
    expect(first.versionId).toMatch(/^ds-[0-9a-f]{20}$/);
    expect(first.version.status).toBe('ready');
    // 4×10 COVID + 2×10 TB + 4 classes × 4 patients × 3 scans OCT.
    expect(first.report.images).toBe(108);
    expect(first.report.ignoredEntries).toBe(45); // COVID README, 4 sheets, 40 masks
    expect(first.report.duplicates.count).toBe(0);
    expect(first.report.quarantined.count).toBe(0);

    const rows = await listImages(fx.db, first.versionId);
    expect(rows).toHaveLength(108);
    expect(findLeaks(rows)).toEqual([]);
    const vp = rows.find((r) => r.entryPath === 'COVID-19_Radiography_Dataset/Viral Pneumonia/images/Viral Pneumonia-3.png')!;
    expect(vp).toMatchObject({
      class: 'lung-viral-pneumonia',
      sourceClass: 'Viral Pneumonia',
      dataset: 'covid19-radiography',
      sourceArchive: 'COVID-19_Radiography_Dataset.zip',
      fileName: 'covid19-radiography-lung-viral-pneumonia-Viral_Pneumonia-3.png',
      objectKey: `datasets/${first.versionId}/images/lung-viral-pneumonia/covid19-radiography-lung-viral-pneumonia-Viral_Pneumonia-3.png`,
      patientKey: null,
      width: 16,
      height: 16,
      format: 'png',
    });
    const oct = rows.find((r) => r.entryPath === 'OCT2017/train/DME/DME-2001-1.jpeg')!;
    expect(oct).toMatchObject({ class: 'oct-dme', patientKey: 'kermany:2001', format: 'jpeg' });
    expect(rows.filter((r) => r.finalEval).every((r) => r.split !== 'train')).toBe(true);

    const manifest = parseManifest((await fx.objects.getBytes(manifestKey(first.versionId))).toString('utf8'));
    expect(manifest).toEqual(rows);
    const imageKeys = await keysUnder(`datasets/${first.versionId}/images/`);
    expect(imageKeys.sort()).toEqual(rows.map((r) => r.objectKey).sort());

    const again = await buildDataset({ db: fx.db, objects: fx.objects, config });
    expect(again).toMatchObject({ versionId: first.versionId, built: false });
    expect(await listImages(fx.db, first.versionId)).toEqual(rows);

    // A different seed is a different version.
    const reseeded = await buildDataset({ db: fx.db, objects: fx.objects, config: { ...config, seed: 7 } });
    expect(reseeded.versionId).not.toBe(first.versionId);
  });

  it('quarantines a corrupt image, reports it, and goes on', async () => {
    const archive = join(fx.dir, 'tb.zip');
    const bad = truncated(await grayPng(120, 120, (x, y) => (x * 7919 + y * 104729) % 251));
    await writeTestZip(archive, [
      { name: 'TB/Tuberculosis/Tuberculosis-1.png', data: await uniquePng() },
      { name: 'TB/Tuberculosis/Tuberculosis-2.png', data: bad },
      { name: 'TB/Normal/Normal-1.png', data: await uniquePng() },
    ]);
    const config = parseDatasetConfig({ sources: [tbSource('tb.zip')] }, fx.dir);
    const r = await buildDataset({ db: fx.db, objects: fx.objects, config });
    expect(r.report.images).toBe(2);
    expect(r.report.quarantined.count).toBe(1);
    const q = r.report.quarantined.listed[0]!;
    expect(q).toMatchObject({ dataset: 'tb', entry: 'TB/Tuberculosis/Tuberculosis-2.png' });
    expect(q.reason).toMatch(/cannot be decoded/);
    expect((await fx.objects.getBytes(q.objectKey)).equals(bad)).toBe(true);
    expect((await listImages(fx.db, r.versionId)).map((i) => i.entryPath)).not.toContain('TB/Tuberculosis/Tuberculosis-2.png');
  });

  it('drops exact duplicates (first one wins) and reports them, including class conflicts', async () => {
    const archive = join(fx.dir, 'tb.zip');
    const same = await uniquePng();
    await writeTestZip(archive, [
      { name: 'TB/Tuberculosis/Tuberculosis-1.png', data: same },
      { name: 'TB/Tuberculosis/Tuberculosis-2.png', data: same },
      { name: 'TB/Normal/Normal-1.png', data: same },
      { name: 'TB/Normal/Normal-2.png', data: await uniquePng() },
    ]);
    const r = await buildDataset({ db: fx.db, objects: fx.objects, config: parseDatasetConfig({ sources: [tbSource('tb.zip')] }, fx.dir) });
    expect(r.report.images).toBe(2);
    expect(r.report.duplicates).toMatchObject({ count: 2, conflictingClasses: 1 });
    expect(r.report.duplicates.listed[1]).toMatchObject({
      kept: { entry: 'TB/Tuberculosis/Tuberculosis-1.png' },
      dropped: { entry: 'TB/Normal/Normal-1.png', class: 'lung-normal' },
    });
  });

  it('keeps an OCT patient in one split across two archives and across train/ and test/ folders', async () => {
    // 40 patients, each with scans in archive A (train/ and test/) and archive B, some in two classes.
    const a: { name: string; data: Buffer }[] = [];
    const b: { name: string; data: Buffer }[] = [];
    for (let p = 0; p < 40; p++) {
      const c = OCT_FOLDERS[p % 4]!;
      const other = OCT_FOLDERS[(p + 1) % 4]!;
      a.push({ name: `OCT2017/train/${c}/${c}-${5000 + p}-1.jpeg`, data: await uniqueJpeg() });
      a.push({ name: `OCT2017/test/${c}/${c}-${5000 + p}-2.jpeg`, data: await uniqueJpeg() });
      b.push({ name: `OCT2017/train/${c}/${c}-${5000 + p}-3.jpeg`, data: await uniqueJpeg() });
      if (p % 5 === 0) b.push({ name: `OCT2017/train/${other}/${other}-${5000 + p}-4.jpeg`, data: await uniqueJpeg() });
    }
    await writeTestTarGz(join(fx.dir, 'a.tar.gz'), a);
    await writeTestTarGz(join(fx.dir, 'b.tar.gz'), b);
    const oct = (dataset: string, archive: string) => ({
      dataset,
      archive,
      format: 'tar.gz',
      patient: { regex: '^[A-Z]+-(\\d+)-\\d+\\.jpeg$', namespace: 'kermany' },
      classes: OCT_FOLDERS.map((f) => ({ source: f, class: `oct-${f.toLowerCase()}`, glob: `**/${f}/*.jpeg` })),
    });
    const config = parseDatasetConfig({ sources: [oct('oct-a', 'a.tar.gz'), oct('oct-b', 'b.tar.gz')] }, fx.dir);
    const r = await buildDataset({ db: fx.db, objects: fx.objects, config });
    const rows = await listImages(fx.db, r.versionId);
    expect(rows).toHaveLength(a.length + b.length);
    const splits = new Map<string, Set<string>>();
    for (const row of rows) splits.set(row.patientKey!, (splits.get(row.patientKey!) ?? new Set()).add(row.split));
    expect(splits.size).toBe(40);
    expect([...splits.values()].every((s) => s.size === 1)).toBe(true);
    expect(new Set(rows.map((x) => x.split))).toEqual(new Set(['train', 'val', 'test']));
    expect(r.report.patients).toEqual({ keyed: 40, groups: 40 });
  });

  it('gives two different images with the same file name distinct object names', async () => {
    await writeTestTarGz(join(fx.dir, 'o.tar.gz'), [
      { name: 'OCT2017/train/CNV/CNV-1-1.jpeg', data: await uniqueJpeg() },
      { name: 'OCT2017/test/CNV/CNV-1-1.jpeg', data: await uniqueJpeg() },
    ]);
    const config = parseDatasetConfig(
      { sources: [{ dataset: 'o', archive: 'o.tar.gz', format: 'tar.gz', classes: [{ source: 'CNV', class: 'oct-cnv', glob: '**/CNV/*.jpeg' }] }] },
      fx.dir,
    );
    const rows = await listImages(fx.db, (await buildDataset({ db: fx.db, objects: fx.objects, config })).versionId);
    expect(rows.map((x) => x.fileName).sort()).toEqual(['o-oct-cnv-CNV-1-1.jpeg', expect.stringMatching(/^o-oct-cnv-CNV-1-1-[0-9a-f]{12}\.jpeg$/)].sort());
  });

  it('quarantines files whose name lacks a patient id when the source declares one', async () => {
    await writeTestTarGz(join(fx.dir, 'o.tar.gz'), [
      { name: 'OCT2017/train/CNV/CNV-10-1.jpeg', data: await uniqueJpeg() },
      { name: 'OCT2017/train/CNV/scan.jpeg', data: await uniqueJpeg() },
    ]);
    const config = parseDatasetConfig(
      {
        sources: [
          {
            dataset: 'o',
            archive: 'o.tar.gz',
            format: 'tar.gz',
            patient: { regex: '^CNV-(\\d+)-\\d+\\.jpeg$' },
            classes: [{ source: 'CNV', class: 'oct-cnv', glob: '**/CNV/*.jpeg' }],
          },
        ],
      },
      fx.dir,
    );
    const r = await buildDataset({ db: fx.db, objects: fx.objects, config });
    expect(r.report.images).toBe(1);
    expect(r.report.quarantined.listed[0]).toMatchObject({ entry: 'OCT2017/train/CNV/scan.jpeg', reason: expect.stringMatching(/patient-id pattern/) });
    expect((await listImages(fx.db, r.versionId))[0]!.patientKey).toBe('o:10');
  });

  it('fails loudly on an unsafe archive and leaves the version failed, never ready', async () => {
    const archive = join(fx.dir, 'tb.zip');
    await writeTestZip(archive, [
      { name: 'TB/Tuberculosis/Tuberculosis-1.png', data: await uniquePng() },
      { name: 'zz/Tuberculosis/evil.png', data: await uniquePng() },
    ]);
    await patchFile(archive, 'zz/Tuberculosis/evil.png', '../Tuberculosis/evil.png');
    const config = parseDatasetConfig({ sources: [tbSource('tb.zip')] }, fx.dir);
    await expect(buildDataset({ db: fx.db, objects: fx.objects, config })).rejects.toBeInstanceOf(UnsafeArchiveError);
    const versions = await fx.db.selectFrom('dataset_versions').selectAll().execute();
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/path traversal/) });
    expect(await findVersion(fx.db, versions[0]!.id)).toMatchObject({ status: 'failed' });
  });

  it('says which source matched nothing', async () => {
    await writeTestZip(join(fx.dir, 'tb.zip'), [{ name: 'elsewhere/x.png', data: await uniquePng() }]);
    const config = parseDatasetConfig({ sources: [tbSource('tb.zip')] }, fx.dir);
    await expect(buildDataset({ db: fx.db, objects: fx.objects, config })).rejects.toThrow(/dataset 'tb': no entry of 'tb\.zip' matched its class rules/);
  });
});
