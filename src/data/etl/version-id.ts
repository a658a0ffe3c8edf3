// A dataset version's id is a content hash: the same archives (by sha256, wherever they live) built
// with the same rules give the same id, so a rebuild is recognised and skipped, and anything that
// could change the output — a class rule, a ratio, the seed, the ETL's own algorithm — gives a new id.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

import { canonicalJson } from '../../core/canonical-json.js';
import type { DatasetConfig } from './config.js';

/** Bump when the build's output for unchanged inputs changes (naming, split algorithm, checks). */
export const ETL_ALGORITHM_VERSION = 1;

/** The inputs that define a version, in a canonical shape (what the id hashes, stored with the version). */
export function versionInputs(config: DatasetConfig, archiveSha256: readonly string[]): Record<string, unknown> {
  return {
    etl: ETL_ALGORITHM_VERSION,
    seed: config.seed,
    split: config.split,
    sources: config.sources.map((s, i) => ({
      dataset: s.dataset,
      format: s.format,
      archive_sha256: archiveSha256[i],
      classes: s.classes.map((r) => ({ source: r.source, class: r.class, [r.kind]: r.pattern })),
      exclude: s.exclude,
      patient: s.patient ? { regex: s.patient.pattern, namespace: s.patient.namespace } : null,
      // Only for sheet-labelled sources, so the ids of folder-labelled versions stay what they were.
      ...(s.labels && {
        labels: { layout: s.labels.layout, images: s.labels.images, csv: s.labels.csv, class_info: s.labels.classInfo ?? null, classes: s.labels.rules },
      }),
    })),
    // Only when configured, so the ids of classification versions stay what they were.
    ...(config.detection && {
      detection: { fusion: { method: config.detection.fusion.method, iou: config.detection.fusion.iou, min_readers: config.detection.fusion.minReaders } },
    }),
  };
}

export function versionIdOf(inputs: Record<string, unknown>): string {
  return `ds-${createHash('sha256').update(canonicalJson(inputs)).digest('hex').slice(0, 20)}`;
}

/** sha256 of a file, streamed; `onBytes` reports progress. */
export async function sha256File(path: string, onBytes?: (bytes: number) => void): Promise<string> {
  const hash = createHash('sha256');
  let n = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    n += chunk.length;
    onBytes?.(n);
  }
  return hash.digest('hex');
}
