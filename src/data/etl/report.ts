// The build report: what went in, what was dropped and why, what came out. Stored with the version
// (DB + datasets/<version>/report.json) and shown by `data build` and `data stats`.
import { SECONDREAD_CLASSES, type SecondreadClass } from '../classes.js';
import { type ManifestImage, type Split, SPLITS } from '../datasets/types.js';
import type { ArchiveScan, DuplicateEntry, LabelsScan, QuarantinedEntry, ScanResult } from './scan.js';

/** Lists in the report are capped; the counts beside them are always complete. */
const MAX_LISTED = 200;

export type SplitClassCounts = Record<Split, Record<SecondreadClass, number>>;

export interface BuildReport {
  version: string;
  name: string | null;
  archives: ArchiveScan[];
  /** Images in the version. */
  images: number;
  /** Entries that no class rule selected (masks, spreadsheets, READMEs…) or an exclude pattern dropped. */
  ignoredEntries: number;
  duplicates: { count: number; conflictingClasses: number; listed: DuplicateEntry[] };
  quarantined: { count: number; listed: QuarantinedEntry[] };
  counts: SplitClassCounts;
  finalEval: number;
  patients: { keyed: number; groups: number };
  objects: { uploaded: number; reused: number; removed: number };
  /** Sheet-labelled sources (RSNA, VinDr-CXR): what the sheet gave, left out and could not match. Absent when none. */
  labels?: LabelsScan[];
  timingsMs: Record<string, number>;
}

export function countBySplitClass(images: readonly Pick<ManifestImage, 'split' | 'class'>[]): SplitClassCounts {
  const counts = Object.fromEntries(SPLITS.map((s) => [s, Object.fromEntries(SECONDREAD_CLASSES.map((c) => [c, 0]))])) as SplitClassCounts;
  for (const i of images) counts[i.split][i.class] += 1;
  return counts;
}

export function buildReport(args: {
  version: string;
  name: string | null;
  scan: ScanResult;
  images: ManifestImage[];
  removed: number;
  timingsMs: Record<string, number>;
}): BuildReport {
  const { scan, images } = args;
  const keyed = new Set(images.filter((i) => i.patientKey).map((i) => i.patientKey));
  return {
    version: args.version,
    name: args.name,
    archives: scan.archives,
    images: images.length,
    ignoredEntries: scan.archives.reduce((n, a) => n + a.ignored, 0),
    duplicates: {
      count: scan.duplicates.length,
      conflictingClasses: scan.duplicates.filter((d) => d.kept.class !== d.dropped.class).length,
      listed: scan.duplicates.slice(0, MAX_LISTED),
    },
    quarantined: { count: scan.quarantined.length, listed: scan.quarantined.slice(0, MAX_LISTED) },
    counts: countBySplitClass(images),
    finalEval: images.filter((i) => i.finalEval).length,
    patients: { keyed: keyed.size, groups: keyed.size + images.filter((i) => !i.patientKey).length },
    objects: { ...scan.uploads, removed: args.removed },
    ...(scan.labels.length > 0 && { labels: scan.labels }),
    timingsMs: args.timingsMs,
  };
}
