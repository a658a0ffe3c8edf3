// A dataset version and its manifest, as the rest of secondread sees them (training, evaluation and
// lineage read these; the DB rows and manifest.jsonl are two encodings of the same records).
import type { SecondreadClass } from '../classes.js';

export const SPLITS = ['train', 'val', 'test'] as const;
export type Split = (typeof SPLITS)[number];

/** A dataset version's id: `ds-` and 20 hex digits of a content hash (data/etl/version-id.ts computes it). */
export const VERSION_ID_PATTERN = /^ds-[0-9a-f]{20}$/;

export const VERSION_STATUSES = ['building', 'ready', 'failed'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

/** One image of a dataset version. */
export interface ManifestImage {
  sha256: string;
  /** Where the bytes are, in the object store. */
  objectKey: string;
  fileName: string;
  dataset: string;
  /** The archive's file name and sha256, and the entry's path inside it (traceability). */
  sourceArchive: string;
  archiveSha256: string;
  entryPath: string;
  /** The dataset's own class name (its folder), and the secondread class it maps to. */
  sourceClass: string;
  class: SecondreadClass;
  split: Split;
  /** Part of the held-out final evaluation set: a subset of val ∪ test, never of train. */
  finalEval: boolean;
  /** `<namespace>:<id>` when the source identifies patients; null when each image is its own patient. */
  patientKey: string | null;
  width: number;
  height: number;
  bytes: number;
  format: string;
  bitDepth: number;
  /** Mean and standard deviation of the 8-bit grayscale pixels (0…255). */
  meanIntensity: number;
  stdIntensity: number;
}

export interface DatasetVersion {
  id: string;
  name: string | null;
  status: VersionStatus;
  /** The canonical inputs the id hashes (config rules + archive sha256s). */
  inputs: Record<string, unknown>;
  imageCount: number;
  /** Build report (archives, duplicates, quarantined, ignored, timings); null until ready. */
  report: Record<string, unknown> | null;
  error: string | null;
  createdAt: string;
  completedAt: string | null;
}
