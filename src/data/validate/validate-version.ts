// Loads what `data validate` checks: a version's manifest rows from the DB (optionally confirming
// every object exists with the recorded size), or a manifest.jsonl file on its own.
import { readFile } from 'node:fs/promises';

import { ValidationError } from '../../core/errors.js';
import type { ProgressFn } from '../../core/progress.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { parseManifest } from '../datasets/manifest.js';
import { getVersion, listImages } from '../datasets/repository.js';
import type { ManifestImage } from '../datasets/types.js';
import { readerAgreement } from '../detection/agreement.js';
import { readAnnotations } from '../detection/annotations.js';
import { TaskPool } from '../etl/pool.js';
import { validateImages, type ValidateOptions, type ValidationReport } from './validate.js';

export interface ValidateVersionOptions extends Omit<ValidateOptions, 'ratios' | 'missingObjects'> {
  /** When given, every image's object is looked up (head) and its size compared. */
  objects?: ObjectStore;
  /** Where the version's annotations.jsonl is read from (reader agreement of detection versions). */
  store?: ObjectStore;
  /** IoU at which two readers' boxes count as the same finding (default 0.4, the VinBigData threshold). */
  agreementIou?: number;
  onProgress?: ProgressFn;
}

export async function validateVersion(db: Db, versionId: string, opts: ValidateVersionOptions = {}): Promise<ValidationReport> {
  const version = await getVersion(db, versionId);
  if (version.status !== 'ready')
    throw new ValidationError(`dataset version '${versionId}' is ${version.status}, not ready${version.error ? ` (${version.error})` : ''}`);
  const images = await listImages(db, versionId);
  const missingObjects = opts.objects ? await findMissingObjects(opts.objects, images, opts.onProgress) : undefined;
  const ratios = (version.inputs.split as { train: number; val: number; test: number } | undefined) ?? undefined;
  const report = validateImages(versionId, images, { ...opts, ratios, missingObjects });
  const annotations = opts.store ? await readAnnotations(opts.store, versionId) : null;
  if (annotations && annotations.some((a) => a.readers.length > 0)) {
    const t = opts.agreementIou ?? 0.4;
    const readersPerImage = [...new Set(annotations.map((a) => a.readers.length))].sort((a, b) => a - b);
    report.readerAgreement = {
      iou: t,
      readersPerImage,
      classes: readerAgreement(
        annotations.map((a) => ({ readers: a.readers, boxes: a.readerBoxes })),
        t,
      ),
    };
  }
  return report;
}

export async function validateManifestFile(path: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new ValidationError(`manifest file '${path}' cannot be read`);
  });
  return validateImages(path, parseManifest(text, path), opts);
}

async function findMissingObjects(objects: ObjectStore, images: readonly ManifestImage[], onProgress?: ProgressFn): Promise<string[]> {
  const missing: string[] = [];
  const pool = new TaskPool(8);
  let done = 0;
  for (const img of images) {
    await pool.run(async () => {
      const head = await objects.head(img.objectKey);
      if (!head || head.size !== img.bytes) missing.push(img.objectKey);
      done += 1;
      if (done % 100 === 0 || done === images.length) onProgress?.({ phase: 'objects', done, total: images.length });
    });
  }
  await pool.drain();
  return missing.sort();
}
