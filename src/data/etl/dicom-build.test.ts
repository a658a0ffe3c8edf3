// DICOM in a dataset archive: de-identified on ingest (nothing identifying reaches the store or the
// DB), pseudonymous patient keys for the split, files that cannot be de-identified refused without
// being stored, and no key → a clear error before anything is stored.
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConfigError } from '../../core/errors.js';
import { writeTestZip } from '../archive/testing.js';
import { listImages } from '../datasets/repository.js';
import { parseDicom } from '../dicom/parse.js';
import { containsMarker, cxrDicom, phiDicom, ramp16 } from '../dicom/testing.js';
import { buildDataset } from './build.js';
import { parseDatasetConfig } from './config.js';
import { type Fixture, openFixture } from './testing.js';

const KEY = Buffer.alloc(32, 5);
let fx: Fixture;
beforeEach(async () => {
  fx = await openFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

const source = {
  dataset: 'rsna',
  archive: 'rsna.zip',
  format: 'zip',
  classes: [
    { source: 'pneumonia', class: 'lung-viral-pneumonia', glob: '**/pneumonia/*.dcm' },
    { source: 'normal', class: 'lung-normal', glob: '**/normal/*.dcm' },
  ],
};

async function writeArchive(): Promise<void> {
  const good = await cxrDicom(ramp16(), 'rle');
  await writeTestZip(join(fx.dir, 'rsna.zip'), [
    { name: 'rsna/pneumonia/PHIMARKA-doe.dcm', data: Buffer.from(await phiDicom('PHIMARKA', 'explicit-le')) },
    { name: 'rsna/pneumonia/PHIMARKB.dcm', data: Buffer.from(await phiDicom('PHIMARKB', 'jpeg-ls')) },
    { name: 'rsna/normal/PHIMARKC.dcm', data: Buffer.from(await phiDicom('PHIMARKC', 'deflated')) },
    { name: 'rsna/normal/PHIMARKD.dcm', data: Buffer.from(await phiDicom('PHIMARKD', 'rle')) },
    { name: 'rsna/normal/cut.dcm', data: Buffer.from(good.subarray(0, good.length - 200)) },
    { name: 'rsna/normal/burned.dcm', data: Buffer.from(await cxrDicom(ramp16(), 'explicit-le', { BurnedInAnnotation: 'YES', PatientName: 'PHIMARKE^X' })) },
  ]);
}

describe('buildDataset with DICOM', () => {
  it('stores de-identified instances only, with pseudonymous patient keys; refuses what it cannot de-identify', async () => {
    await writeArchive();
    const config = parseDatasetConfig({ sources: [source] }, fx.dir);
    const r = await buildDataset({ db: fx.db, objects: fx.objects, config, dicom: { key: KEY } });
    expect(r.report.images).toBe(4);
    expect(r.report.quarantined.count).toBe(2);
    for (const q of r.report.quarantined.listed) expect((await fx.objects.getBytes(q.objectKey)).toString()).toMatch(/was not stored/);

    const images = await listImages(fx.db, r.versionId);
    expect(new Set(images.map((i) => i.format))).toEqual(new Set(['dicom']));
    expect(images.every((i) => /^[0-9a-f]{24}$/.test(i.patientKey ?? ''))).toBe(true);
    expect(new Set(images.map((i) => i.patientKey)).size).toBe(4);
    for (const img of images) {
      const bytes = await fx.objects.getBytes(img.objectKey);
      expect(parseDicom(bytes).dataset.PatientIdentityRemoved).toBe('YES');
      expect(img.objectKey).not.toContain('PHIMARK');
    }
    // Nothing identifying anywhere in the store (the archive's entry paths are the site's own names and
    // are recorded as given: here they carry the marker on purpose, so only objects are searched).
    for await (const o of fx.objects.list(`datasets/${r.versionId}/`)) {
      if (o.key.endsWith('manifest.jsonl')) continue;
      expect(containsMarker(await fx.objects.getBytes(o.key), 'PHIMARK'), o.key).toBe(false);
    }
  });

  it('without a de-identification key a DICOM archive fails with a clear error, storing nothing', async () => {
    await writeArchive();
    const config = parseDatasetConfig({ sources: [source] }, fx.dir);
    await expect(buildDataset({ db: fx.db, objects: fx.objects, config })).rejects.toBeInstanceOf(ConfigError);
    for await (const o of fx.objects.list('')) expect(containsMarker(await fx.objects.getBytes(o.key), 'PHIMARK'), o.key).toBe(false);
  });
});
