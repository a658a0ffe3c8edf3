// `data validate`: checks a version's manifest — counts per split × class, image size and intensity
// statistics, duplicates, leakage between splits, imbalance — and says whether it is fit to train on.
// Errors (leakage, duplicate keys, an empty version, missing objects) make the CLI exit non-zero;
// warnings (imbalance, a class absent from a split, a split far from the configured ratio) do not.
import { SECONDREAD_CLASSES, type SecondreadClass } from '../classes.js';
import { type ManifestImage, type Split, SPLITS } from '../datasets/types.js';
import type { ClassAgreement } from '../detection/agreement.js';
import { countBySplitClass, type SplitClassCounts } from '../etl/report.js';
import { findLeaks, type Leak } from './leakage.js';

export interface Issue {
  level: 'error' | 'warning';
  code: string;
  message: string;
}

export interface Summary {
  min: number;
  max: number;
  mean: number;
}

export interface ClassStats {
  images: number;
  width: Summary;
  height: Summary;
  bytes: Summary;
  /** Per-image mean and std of 8-bit intensity, summarized over the class's images. */
  meanIntensity: Summary;
  stdIntensity: Summary;
}

export interface ValidationReport {
  version: string;
  ok: boolean;
  images: number;
  counts: SplitClassCounts;
  splitTotals: Record<Split, number>;
  finalEval: Record<Split, number>;
  classStats: Partial<Record<SecondreadClass, ClassStats>>;
  duplicates: { sha256: string; copies: number; splits: Split[] }[];
  leaks: Leak[];
  issues: Issue[];
  /** Detection versions (with reader boxes): reader agreement per class (data/detection/agreement.ts). */
  readerAgreement?: { iou: number; readersPerImage: number[]; classes: ClassAgreement[] };
}

export interface ValidateOptions {
  /** Configured ratios (from the version's inputs), for the drift warning. */
  ratios?: { train: number; val: number; test: number };
  /** Warn when, within a split, the largest class has more than this many times the smallest. */
  imbalanceRatio?: number;
  /** Warn when a class's share of a split differs from the configured ratio by more than this. */
  ratioTolerance?: number;
  /** Object keys found missing or with the wrong size (from an object-store check). */
  missingObjects?: string[];
}

function summarize(values: number[]): Summary {
  if (values.length === 0) return { min: 0, max: 0, mean: 0 };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, max, mean: sum / values.length };
}

export function validateImages(version: string, images: readonly ManifestImage[], opts: ValidateOptions = {}): ValidationReport {
  const issues: Issue[] = [];
  const counts = countBySplitClass(images);
  const splitTotals = Object.fromEntries(SPLITS.map((s) => [s, images.filter((i) => i.split === s).length])) as Record<Split, number>;
  const finalEval = Object.fromEntries(SPLITS.map((s) => [s, images.filter((i) => i.split === s && i.finalEval).length])) as Record<Split, number>;

  const classStats: ValidationReport['classStats'] = {};
  for (const c of SECONDREAD_CLASSES) {
    const mine = images.filter((i) => i.class === c);
    if (mine.length === 0) continue;
    classStats[c] = {
      images: mine.length,
      width: summarize(mine.map((i) => i.width)),
      height: summarize(mine.map((i) => i.height)),
      bytes: summarize(mine.map((i) => i.bytes)),
      meanIntensity: summarize(mine.map((i) => i.meanIntensity)),
      stdIntensity: summarize(mine.map((i) => i.stdIntensity)),
    };
  }

  if (images.length === 0) issues.push({ level: 'error', code: 'empty', message: 'the version has no images' });

  const bySha = new Map<string, ManifestImage[]>();
  for (const i of images) bySha.set(i.sha256, [...(bySha.get(i.sha256) ?? []), i]);
  const duplicates = [...bySha.entries()]
    .filter(([, copies]) => copies.length > 1)
    .map(([sha256, copies]) => ({ sha256, copies: copies.length, splits: [...new Set(copies.map((c) => c.split))].sort() }));
  for (const d of duplicates.filter((x) => x.splits.length === 1)) {
    issues.push({ level: 'warning', code: 'duplicate_image', message: `image ${d.sha256.slice(0, 12)}… appears ${d.copies} times in ${d.splits[0]}` });
  }
  const keys = new Set<string>();
  for (const i of images) {
    if (keys.has(i.objectKey)) issues.push({ level: 'error', code: 'duplicate_key', message: `object key ${i.objectKey} is listed twice` });
    keys.add(i.objectKey);
  }

  const leaks = findLeaks(images);
  for (const l of leaks) {
    const what = l.kind === 'patient_in_several_splits' ? `patient ${l.key}` : `image ${l.key.slice(0, 12)}…`;
    const message =
      l.kind === 'final_eval_outside_val_test'
        ? `${what} is flagged final_eval but is in train`
        : `${what} appears in ${l.splits.join(' and ')} (${l.images} images): leakage between splits`;
    issues.push({ level: 'error', code: l.kind, message });
  }

  for (const key of opts.missingObjects ?? [])
    issues.push({ level: 'error', code: 'missing_object', message: `object ${key} is missing or has the wrong size` });

  const imbalance = opts.imbalanceRatio ?? 3;
  for (const s of SPLITS) {
    const present = SECONDREAD_CLASSES.filter((c) => classStats[c]);
    const n = present.map((c) => counts[s][c]);
    for (const c of present) {
      if (counts[s][c] === 0 && splitTotals[s] > 0) issues.push({ level: 'warning', code: 'class_missing', message: `${c} has no images in ${s}` });
    }
    const nonzero = n.filter((x) => x > 0);
    if (nonzero.length > 1 && Math.max(...nonzero) > imbalance * Math.min(...nonzero)) {
      const most = present[n.indexOf(Math.max(...nonzero))]!;
      const least = present[n.indexOf(Math.min(...nonzero))]!;
      issues.push({
        level: 'warning',
        code: 'imbalance',
        message: `${s} is imbalanced: ${most} has ${Math.max(...nonzero)} images, ${least} ${Math.min(...nonzero)} (more than ${imbalance}×); consider class weights or resampling`,
      });
    }
  }

  if (opts.ratios) {
    const tol = opts.ratioTolerance ?? 0.05;
    for (const c of SECONDREAD_CLASSES) {
      const total = classStats[c]?.images ?? 0;
      if (total < 20) continue; // shares of tiny classes are meaningless
      for (const s of SPLITS) {
        const share = counts[s][c] / total;
        if (Math.abs(share - opts.ratios[s]) > tol) {
          issues.push({
            level: 'warning',
            code: 'split_ratio',
            message: `${c}: ${s} holds ${(share * 100).toFixed(1)}% of its images (configured ${(opts.ratios[s] * 100).toFixed(0)}%)`,
          });
        }
      }
    }
  }

  return {
    version,
    ok: !issues.some((i) => i.level === 'error'),
    images: images.length,
    counts,
    splitTotals,
    finalEval,
    classStats,
    duplicates,
    leaks,
    issues,
  };
}
