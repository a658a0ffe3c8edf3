// What `runs show` and `runs compare` display, assembled as data (the CLI renders it as tables or
// JSON): a run's params flattened to dotted keys, its final metrics, and side-by-side rows where the
// values that differ between runs are marked.
import type { Tracker } from './tracker.js';
import type { ArtifactInfo, RunRecord } from './types.js';

export type RunWithExperiment = RunRecord & { experiment: string };

/** {a: {b: 1}, c: [1, 2]} → {'a.b': '1', c: '[1,2]'} */
export function flattenParams(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out[prefix] = '{}';
    for (const [k, v] of entries) flattenParams(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

export interface RunDetails {
  run: RunWithExperiment;
  /** Last value of every metric key except the system ones. */
  metrics: Record<string, number>;
  artifacts: ArtifactInfo[];
}

async function withExperiment(tracker: Tracker, id: string): Promise<RunWithExperiment> {
  const run = await tracker.getRun(id);
  const exp = await tracker.db.selectFrom('experiments').select('name').where('id', '=', run.experimentId).executeTakeFirst();
  return { ...run, experiment: exp?.name ?? run.experimentId };
}

export async function runDetails(tracker: Tracker, id: string): Promise<RunDetails> {
  const run = await withExperiment(tracker, id);
  const latest = await tracker.latestMetrics(id);
  const metrics = Object.fromEntries(Object.entries(latest).filter(([k]) => !k.startsWith('system/')));
  return { run, metrics, artifacts: await tracker.listArtifacts(id) };
}

export interface ComparisonRow<T> {
  key: string;
  values: T[];
  differs: boolean;
}

export interface RunComparison {
  runs: RunWithExperiment[];
  params: ComparisonRow<string | null>[];
  metrics: ComparisonRow<number | null>[];
}

function rows<T>(maps: Record<string, T>[]): ComparisonRow<T | null>[] {
  const keys = [...new Set(maps.flatMap((m) => Object.keys(m)))].sort();
  return keys.map((key) => {
    const values = maps.map((m) => (key in m ? m[key]! : null));
    return { key, values, differs: values.some((v) => JSON.stringify(v) !== JSON.stringify(values[0])) };
  });
}

export async function compareRuns(tracker: Tracker, ids: readonly string[]): Promise<RunComparison> {
  const details = await Promise.all(ids.map((id) => runDetails(tracker, id)));
  return {
    runs: details.map((d) => d.run),
    params: rows(details.map((d) => ({ ...flattenParams(d.run.params), ...(d.run.datasetVersion ? { dataset_version: d.run.datasetVersion } : {}) }))),
    // The run's summary (final figures) first, then the last value of each logged metric.
    metrics: rows(details.map((d) => ({ ...prefixKeys(d.run.summary ?? {}, 'summary.'), ...d.metrics }))),
  };
}

function prefixKeys(o: Record<string, number>, p: string): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}${k}`, v]));
}

/** "1h 02m", "3m 05s", "12s"; null while running. */
export function formatDuration(startedAt: string, endedAt: string | null): string | null {
  if (!endedAt) return null;
  const s = Math.max(0, Math.round((Date.parse(endedAt) - Date.parse(startedAt)) / 1000));
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
