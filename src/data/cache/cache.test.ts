import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ValidationError } from '../../core/errors.js';
import { SECONDREAD_CLASSES } from '../classes.js';
import { listImages } from '../datasets/repository.js';
import { buildDataset } from '../etl/build.js';
import { loadDatasetConfig } from '../etl/config.js';
import { type Fixture, openFixture, writeSeedArchives } from '../etl/testing.js';
import { preprocessImage } from '../images/preprocess.js';
import { buildCache, cachePath } from './build-cache.js';
import { decodeHeader, encodeHeader } from './format.js';
import { loadCache, readCacheHeader } from './read-cache.js';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/datasets.yaml');

let fx: Fixture;
let versionId: string;
beforeAll(async () => {
  fx = await openFixture('sr-cache-');
  await writeSeedArchives(fx.dir, { cxrPerClass: 5, tbPerClass: 5, octPatients: 3, octScans: 2 });
  versionId = (await buildDataset({ db: fx.db, objects: fx.objects, config: loadDatasetConfig(EXAMPLE, { rawDir: fx.dir }) })).versionId;
});
afterAll(async () => {
  await fx.cleanup();
});

describe('cache format', () => {
  it('aligns data to 64 bytes and round-trips the header', () => {
    const { header, bytes, fileSize } = encodeHeader({
      dataset_version: 'ds-x',
      split: 'val',
      size: 8,
      count: 3,
      classes: SECONDREAD_CLASSES,
      preprocess: { name: 'p', version: 1 },
      sha256: ['a', 'b', 'c'],
    });
    expect(header.arrays.images.offset % 64).toBe(0);
    expect(bytes.length).toBe(header.arrays.images.offset);
    expect(header.arrays.labels.offset).toBe(header.arrays.images.offset + 3 * 64);
    expect(fileSize).toBe(header.arrays.final_eval.offset + 3);
    expect(decodeHeader(bytes)!.header).toEqual(header);
    expect(decodeHeader(Buffer.from('not a cache file at all'))).toBeNull();
  });
});

describe('buildCache', () => {
  it('packs every split; pixels equal preprocessImage() of the stored object, labels and flags match the manifest', async () => {
    const dir = join(fx.dir, 'cache');
    const results = await buildCache({ db: fx.db, objects: fx.objects, versionId, size: 24, dir });
    expect(results.map((r) => r.split)).toEqual(['train', 'val', 'test']);
    for (const r of results) {
      const rows = await listImages(fx.db, versionId, { split: r.split });
      const c = await loadCache(r.path);
      expect(c.header).toMatchObject({ dataset_version: versionId, split: r.split, size: 24, count: rows.length, layout: 'NHW' });
      expect(c.header.sha256).toEqual(rows.map((x) => x.sha256));
      expect((await stat(r.path)).size).toBe(r.bytes);
      for (const [i, row] of rows.entries()) {
        expect(SECONDREAD_CLASSES[c.labels[i]!]).toBe(row.class);
        expect(c.finalEval[i]).toBe(row.finalEval ? 1 : 0);
        const expected = await preprocessImage(await fx.objects.getBytes(row.objectKey), 24);
        expect(Buffer.from(c.image(i)).equals(Buffer.from(expected))).toBe(true);
      }
    }
    // A second run keeps the files; --force rewrites them byte-identically.
    const again = await buildCache({ db: fx.db, objects: fx.objects, versionId, size: 24, dir });
    expect(again.every((r) => !r.written)).toBe(true);
    const before = await readFile(results[0]!.path);
    const forced = await buildCache({ db: fx.db, objects: fx.objects, versionId, size: 24, dir, force: true });
    expect(forced.every((r) => r.written)).toBe(true);
    expect((await readFile(results[0]!.path)).equals(before)).toBe(true);
  });

  it('refuses truncated files and non-cache files', async () => {
    const dir = join(fx.dir, 'cache2');
    await buildCache({ db: fx.db, objects: fx.objects, versionId, size: 16, dir });
    const path = cachePath(dir, versionId, 16, 'train');
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 5));
    await expect(loadCache(path)).rejects.toThrow(/truncated/);
    await writeFile(path, 'hello');
    await expect(readCacheHeader(path)).rejects.toBeInstanceOf(ValidationError);
  });
});
