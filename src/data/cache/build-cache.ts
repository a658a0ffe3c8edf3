// `data cache`: decode + preprocess every image of a version ONCE into per-split packed uint8 files
// (format.ts), with the same preprocessImage() serving uses. Files are written to a temp name and
// renamed, so a cache file either is complete or does not exist; an existing, matching file is kept.
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { ValidationError } from '../../core/errors.js';
import type { ProgressFn } from '../../core/progress.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { SECONDREAD_CLASSES } from '../classes.js';
import { getVersion, listImages } from '../datasets/repository.js';
import { type Split, SPLITS } from '../datasets/types.js';
import { TaskPool } from '../etl/pool.js';
import { PREPROCESS_POLICY, preprocessImage } from '../images/preprocess.js';
import { type CacheHeader, encodeHeader } from './format.js';
import { readCacheHeader } from './read-cache.js';

export interface BuildCacheOptions {
  db: Db;
  objects: ObjectStore;
  versionId: string;
  size: number;
  /** Root cache folder; files go to <dir>/<version>/<size>/<split>.srcache. */
  dir: string;
  force?: boolean;
  concurrency?: number;
  onProgress?: ProgressFn;
}

export interface CacheFileResult {
  split: Split;
  path: string;
  count: number;
  bytes: number;
  /** False when a matching file already existed. */
  written: boolean;
}

export function cachePath(dir: string, versionId: string, size: number, split: Split): string {
  return join(dir, versionId, String(size), `${split}.srcache`);
}

function matches(h: CacheHeader, versionId: string, size: number, count: number): boolean {
  return (
    h.dataset_version === versionId &&
    h.size === size &&
    h.count === count &&
    h.preprocess.name === PREPROCESS_POLICY.name &&
    h.preprocess.version === PREPROCESS_POLICY.version
  );
}

export async function buildCache(opts: BuildCacheOptions): Promise<CacheFileResult[]> {
  const version = await getVersion(opts.db, opts.versionId);
  if (version.status !== 'ready') throw new ValidationError(`dataset version '${opts.versionId}' is ${version.status}, not ready`);
  const results: CacheFileResult[] = [];
  for (const split of SPLITS) {
    const images = await listImages(opts.db, opts.versionId, { split });
    const path = cachePath(opts.dir, opts.versionId, opts.size, split);
    const existing = await readCacheHeader(path).catch(() => undefined);
    if (!opts.force && existing && matches(existing, opts.versionId, opts.size, images.length)) {
      results.push({ split, path, count: images.length, bytes: (await stat(path)).size, written: false });
      continue;
    }
    const { bytes, header, fileSize } = encodeHeader({
      dataset_version: opts.versionId,
      split,
      size: opts.size,
      count: images.length,
      classes: SECONDREAD_CLASSES,
      preprocess: { name: PREPROCESS_POLICY.name, version: PREPROCESS_POLICY.version },
      sha256: images.map((i) => i.sha256),
    });
    await mkdir(join(opts.dir, opts.versionId, String(opts.size)), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w');
    const pool = new TaskPool(opts.concurrency ?? 3);
    try {
      await fh.write(bytes, 0, bytes.length, 0);
      const px = opts.size * opts.size;
      const labels = Buffer.from(images.map((i) => SECONDREAD_CLASSES.indexOf(i.class)));
      const finalEval = Buffer.from(images.map((i) => (i.finalEval ? 1 : 0)));
      let done = 0;
      for (const [row, img] of images.entries()) {
        await pool.run(async () => {
          const pixels = await preprocessImage(await opts.objects.getBytes(img.objectKey), opts.size);
          await fh.write(pixels, 0, px, header.arrays.images.offset + row * px);
          done += 1;
          if (done % 50 === 0 || done === images.length) opts.onProgress?.({ phase: `cache ${split}`, done, total: images.length });
        });
      }
      await pool.drain();
      await fh.write(labels, 0, labels.length, header.arrays.labels.offset);
      await fh.write(finalEval, 0, finalEval.length, header.arrays.final_eval.offset);
      await fh.truncate(fileSize);
      await fh.sync();
    } catch (err) {
      await pool.settle(); // no write may land after the file is closed
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    await rename(tmp, path);
    results.push({ split, path, count: images.length, bytes: fileSize, written: true });
  }
  return results;
}
