// A sweep's runs as rows for the Experiments page: the options that vary between the trials (found from the runs'
// params, so nothing about the sweep file is needed), the ranking figure and test accuracy, best first.
import type { Run } from '../api/catalog.js';

export interface SweepRow {
  run: Run;
  trial: number;
  values: Record<string, string>;
  metric: number | null;
  test: number | null;
}

export interface SweepView {
  name: string;
  keys: string[];
  rows: SweepRow[];
}

const text = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '—'));
/** Run names and ids differ by design; they are not options. */
const NOT_OPTIONS = new Set(['name', 'experiment']);

/** The sweeps among these runs (runs tagged `sweep`), each with its varied options; metric: a summary key. */
export function sweepViews(runs: readonly Run[], metric = 'val_accuracy'): SweepView[] {
  const bySweep = new Map<string, Run[]>();
  for (const r of runs) {
    const name = r.tags?.sweep;
    if (name) bySweep.set(name, [...(bySweep.get(name) ?? []), r]);
  }
  return [...bySweep.entries()].map(([name, list]) => {
    const allKeys = [...new Set(list.flatMap((r) => Object.keys(r.params ?? {})))].filter((k) => !NOT_OPTIONS.has(k));
    const keys = allKeys.filter((k) => new Set(list.map((r) => text(r.params?.[k]))).size > 1).sort();
    const rows = list.map((run) => ({
      run,
      trial: Number(run.tags?.trial ?? 0),
      values: Object.fromEntries(keys.map((k) => [k, text(run.params?.[k])])),
      metric: run.summary?.[metric] ?? null,
      test: run.summary?.test_accuracy ?? null,
    }));
    rows.sort((a, b) => (b.metric ?? -Infinity) - (a.metric ?? -Infinity) || a.trial - b.trial);
    return { name, keys, rows };
  });
}
