// The catalog routes' answers (datasets, runs, registry) as the pages use them. The server's records
// (src/data/datasets/types.ts DatasetVersion, src/tracking/types.ts RunRecord and MetricPoint,
// src/tracking/model-card.ts ModelCard, src/tracking/registry.ts AliasEvent) are mirrored here, and
// the few places where an answer may come in more than one shape are normalized in one function each.

import type { CriterionResult } from './rollout.js';

export interface DatasetVersion {
  id: string;
  name: string | null;
  status?: string;
  imageCount?: number;
  createdAt: string;
  completedAt?: string | null;
  /** Images per split and class. */
  counts?: SplitClassCounts;
  validation?: Record<string, unknown> | null;
  report?: Record<string, unknown> | null;
}

/** `{train: {'lung-normal': 10, …}, …}` or rows `[{split, class, count}]`. */
export type SplitClassCounts = Record<string, Record<string, number>> | { split: string; class: string; count: number }[];

export interface CountTable {
  splits: string[];
  classes: string[];
  cell: (split: string, cls: string) => number;
  splitTotal: (split: string) => number;
  classTotal: (cls: string) => number;
  total: number;
}

const SPLIT_ORDER = ['train', 'val', 'test', 'final_eval'];

/** The split × class table of a dataset version, in a stable order (train, val, test first; classes sorted). */
export function countTable(counts: SplitClassCounts | undefined | null): CountTable {
  const m = new Map<string, Map<string, number>>();
  const add = (split: string, cls: string, n: number) => {
    if (!Number.isFinite(n)) return;
    if (!m.has(split)) m.set(split, new Map());
    const row = m.get(split)!;
    row.set(cls, (row.get(cls) ?? 0) + n);
  };
  if (Array.isArray(counts)) for (const r of counts) add(r.split, r.class, Number(r.count));
  else if (counts) for (const [split, row] of Object.entries(counts)) for (const [cls, n] of Object.entries(row ?? {})) add(split, cls, Number(n));
  const rank = (s: string) => (SPLIT_ORDER.includes(s) ? SPLIT_ORDER.indexOf(s) : SPLIT_ORDER.length);
  const splits = [...m.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const classes = [...new Set([...m.values()].flatMap((r) => [...r.keys()]))].sort();
  const cell = (s: string, c: string) => m.get(s)?.get(c) ?? 0;
  const splitTotal = (s: string) => classes.reduce((t, c) => t + cell(s, c), 0);
  return {
    splits,
    classes,
    cell,
    splitTotal,
    classTotal: (c) => splits.reduce((t, s) => t + cell(s, c), 0),
    total: splits.reduce((t, s) => t + splitTotal(s), 0),
  };
}

export interface Sample {
  sha256: string;
  class?: string;
  split?: string;
  /** The thumbnail's URL (an API path). */
  thumbnail?: string;
}

/** Sample answers: `{samples: [{sha256, …}]}` or `{samples: ['<sha256>', …]}`. */
export function sampleList(body: unknown): Sample[] {
  const list = (body as { samples?: unknown })?.samples;
  if (!Array.isArray(list)) return [];
  return list.flatMap((x): Sample[] => (typeof x === 'string' ? [{ sha256: x }] : x && typeof (x as Sample).sha256 === 'string' ? [x as Sample] : []));
}

export interface Run {
  id: string;
  name: string;
  experiment?: string;
  experimentId?: string;
  status: string;
  params?: Record<string, unknown>;
  datasetVersion?: string | null;
  parentRunId?: string | null;
  /** e.g. a sweep's trial: {sweep, trial, job}. */
  tags?: Record<string, string>;
  startedAt: string;
  endedAt?: string | null;
  summary?: Record<string, number> | null;
}

export interface MetricPoint {
  key?: string;
  name?: string;
  value: number;
  step: number;
  epoch?: number;
  split?: string;
}

/** A run's metric series by name: `{series: {name: points}}`, `{metrics: {name: points}}` or `{points: [...]}` with key fields. */
export function metricSeries(body: unknown): Record<string, MetricPoint[]> {
  const b = (body ?? {}) as Record<string, unknown>;
  const grouped = (b.series ?? b.metrics) as unknown;
  if (grouped && typeof grouped === 'object' && !Array.isArray(grouped)) {
    const out: Record<string, MetricPoint[]> = {};
    for (const [k, v] of Object.entries(grouped)) if (Array.isArray(v)) out[k] = v as MetricPoint[];
    return out;
  }
  const flat = (Array.isArray(grouped) ? grouped : b.points) as MetricPoint[] | undefined;
  const out: Record<string, MetricPoint[]> = {};
  for (const p of flat ?? []) {
    const k = p.key ?? p.name;
    if (k) (out[k] ??= []).push(p);
  }
  return out;
}

/** Curves worth drawing: losses together, accuracies together (system/* metrics left out). */
export function curveGroups(series: Record<string, MetricPoint[]>): { title: string; keys: string[] }[] {
  const keys = Object.keys(series)
    .filter((k) => !k.startsWith('system/'))
    .sort();
  const loss = keys.filter((k) => /loss|nll/i.test(k));
  const acc = keys.filter((k) => /acc|f1|auc/i.test(k) && !loss.includes(k));
  const other = keys.filter((k) => !loss.includes(k) && !acc.includes(k));
  return [{ title: 'Loss', keys: loss }, { title: 'Accuracy', keys: acc }, ...other.map((k) => ({ title: k, keys: [k] }))].filter((g) => g.keys.length > 0);
}

export interface AliasEvent {
  seq: number;
  alias: string;
  action: 'set' | 'rollback' | string;
  version: number;
  previousVersion: number | null;
  by: string;
  reason: string;
  at: string;
}

export interface ClassFigures {
  class: string;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  auc: number | null;
  support: number | null;
}

export interface SplitFigures {
  split: string;
  count: number | null;
  accuracy: number | null;
  macroF1: number | null;
  macroAuc: number | null;
  nll: number | null;
  ece: number | null;
}

export interface ModelCard {
  name: string;
  version: number;
  createdAt: string;
  createdBy: string;
  source: string;
  notes: string | null;
  intendedUse?: string;
  lineage?: { runId: string | null; experiment: string | null; datasetVersion: string | null; codeVersion?: string | null };
  model?: { classes: string[]; onnxSha256?: string; onnxBytes?: number; architecture?: Record<string, unknown> | null };
  metrics?: { overall: SplitFigures[]; perClassSplit: string | null; perClass: ClassFigures[] };
  calibration?: { temperature: number; ece: number | null; eceUncalibrated: number | null };
  limitations?: string[];
  /** Change-protocol evaluations attached since registration (docs/rollout.md), oldest first. */
  changeProtocol?: {
    reportId: string;
    protocol: { name: string; version: number; sha256: string };
    evaluatedAt: string;
    evaluatedBy: string;
    baselineVersion: number | null;
    datasetVersion: string;
    passed: boolean;
    criteria: CriterionResult[];
    failures: string[];
  }[];
}
