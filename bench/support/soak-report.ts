// The soak's report: the goals and whether they were met, requests by route and status, latency percentiles per
// route overall and per time window, RSS and event-loop lag over time, the stores' growth, the invariants, and the
// charts (core/charts: soak-memory.png — RSS and lag; soak-latency.png — p95 per route; soak-throughput.png).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type LineChartOptions, renderChartsPng, renderLineChartPng, type Series } from '../../src/core/charts/index.js';
import { percentile } from './server.js';
import type { SoakResult } from './soak.js';
import { MAX_FAILURE_SAMPLES, type RequestRecord } from './soak-traffic.js';

/** RSS growth allowed after warm-up (the issue's goal). */
export const RSS_FLAT_WITHIN = 0.1;
/** The first part of the run, not judged for RSS (model load, caches, the SQLite page cache filling). */
export const WARMUP_FRACTION = 0.2;

export interface SoakSummary {
  requests: number;
  fiveXx: number;
  noAnswer: number;
  lost: number;
  readsMissing: number;
  orphans: number;
  auditOk: boolean;
  worklistsMatch: boolean;
  /** RSS after warm-up: the median of the first and of the last tenth of the judged part, and their ratio − 1. */
  rss: { afterWarmupMb: number; endMb: number; growth: number; maxMb: number } | null;
  goalsMet: boolean;
}

function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
}

export function summarize(r: SoakResult): SoakSummary {
  const recs = r.state.records;
  const inv = r.invariants;
  const judged = r.samples.filter((s) => s.t >= WARMUP_FRACTION * r.options.durationS && s.rssMb !== null);
  let rss: SoakSummary['rss'] = null;
  if (judged.length >= 2) {
    const tenth = Math.max(1, Math.round(judged.length / 10));
    const first = median(judged.slice(0, tenth).map((s) => s.rssMb!));
    const last = median(judged.slice(-tenth).map((s) => s.rssMb!));
    rss = { afterWarmupMb: first, endMb: last, growth: last / first - 1, maxMb: Math.max(...judged.map((s) => s.rssMb!)) };
  }
  const s = {
    requests: recs.length,
    fiveXx: recs.filter((x) => x.status >= 500).length,
    noAnswer: recs.filter((x) => x.status === 0).length,
    lost: inv.lost?.length ?? 0,
    readsMissing: inv.readsMissing?.length ?? 0,
    orphans: inv.orphans?.found.length ?? 0,
    auditOk: inv.auditVerify?.ok ?? false,
    worklistsMatch: (inv.worklists ?? []).every((w) => w.metrics === w.database && w.listed === Math.min(500, w.database)),
    rss,
  };
  return {
    ...s,
    goalsMet:
      s.fiveXx === 0 &&
      s.noAnswer === 0 &&
      s.lost === 0 &&
      s.readsMissing === 0 &&
      s.orphans === 0 &&
      s.auditOk &&
      s.worklistsMatch &&
      rss !== null &&
      Math.abs(rss.growth) <= RSS_FLAT_WITHIN,
  };
}

const ms = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(1) : v.toFixed(0)) : '–');
const mb = (b: number) => (b / (1024 * 1024)).toFixed(1);

/** Records grouped by route, routes ordered by count. */
function byRoute(recs: readonly RequestRecord[]): [string, RequestRecord[]][] {
  const m = new Map<string, RequestRecord[]>();
  for (const r of recs) (m.get(r.route) ?? m.set(r.route, []).get(r.route)!).push(r);
  return [...m.entries()].sort((a, b) => b[1].length - a[1].length);
}

function latencies(recs: readonly RequestRecord[]): number[] {
  return recs
    .filter((r) => r.status !== 0)
    .map((r) => r.ms)
    .sort((a, b) => a - b);
}

/** Time windows: ten over the run (one minute each for the 10-minute soak). */
function windows(durationS: number): { from: number; to: number }[] {
  const n = 10;
  return Array.from({ length: n }, (_, i) => ({ from: (i * durationS) / n, to: ((i + 1) * durationS) / n }));
}

export function renderMarkdown(r: SoakResult, s: SoakSummary, o: { load?: { before: string; after: string }; charts: string[] }): string {
  const { options: opt, state, invariants: inv } = r;
  const lines: string[] = [];
  const yes = (b: boolean) => (b ? 'met' : '**not met**');
  lines.push(`# Soak: ${opt.durationS} s, ${opt.concurrency} mixed clients, one \`secondread serve\``, '');
  lines.push(
    `Started ${r.startedAt}; server: \`secondread serve --threads ${opt.threads} --preload ${'soak-vit-small@production'} --alias-poll-ms 1000\` on loopback, ` +
      `SQLite + filesystem store, in-process job queue; model vit-small (64×64×1, random weights). Besides the ${opt.concurrency} clients: a /metrics scraper (every 2 s), ` +
      `one saliency client (one map at a time, 1 s apart) and a control client (an evaluation job at 10 %, promotion of v2 to production at ${opt.promoteAtS.toFixed(0)} s, rollback at ${opt.rollbackAtS.toFixed(0)} s).`,
  );
  if (o.load) lines.push('', `Machine load (uptime) before: \`${o.load.before}\`; after: \`${o.load.after}\`.`);
  lines.push('', '## Goals', '', '| goal | result | |', '|---|---|---|');
  lines.push(`| 0 5xx | ${s.fiveXx} 5xx, ${s.noAnswer} without an answer (of ${s.requests}) | ${yes(s.fiveXx === 0 && s.noAnswer === 0)} |`);
  lines.push(`| 0 lost studies | ${s.lost} of ${inv.acknowledged ?? 0} acknowledged | ${yes(s.lost === 0)} |`);
  lines.push(
    `| RSS after warm-up flat within ${RSS_FLAT_WITHIN * 100} % | ${s.rss ? `${s.rss.afterWarmupMb.toFixed(0)} → ${s.rss.endMb.toFixed(0)} MB (${(s.rss.growth * 100).toFixed(1)} %), max ${s.rss.maxMb.toFixed(0)} MB` : 'no samples'} | ${yes(s.rss !== null && Math.abs(s.rss.growth) <= RSS_FLAT_WITHIN)} |`,
  );
  lines.push(
    '',
    `Warm-up: the first ${WARMUP_FRACTION * 100} % of the run; RSS is judged as the median of the first and of the last tenth of the samples after it.`,
  );

  lines.push('', '## Invariants after the run', '', '| check | result |', '|---|---|');
  lines.push(`| acknowledged studies (201) with row, image${' '}and intake audit entry | ${(inv.acknowledged ?? 0) - s.lost} of ${inv.acknowledged ?? 0} |`);
  lines.push(`| study rows without a 201 seen by the client | ${inv.unacknowledgedRows ?? '–'} |`);
  lines.push(`| acknowledged reads recorded with their label | ${(inv.readsAcknowledged ?? 0) - s.readsMissing} of ${inv.readsAcknowledged ?? 0} |`);
  lines.push(`| \`secondread audit verify\` | ${inv.auditVerify?.ok ? 'passes' : '**fails**'}: ${(inv.auditVerify?.output ?? '').split('\n')[0]} |`);
  for (const w of inv.worklists ?? [])
    lines.push(`| worklist ${w.worklist}: database / /metrics gauge / GET (limit 500) | ${w.database} / ${w.metrics ?? '–'} / ${w.listed ?? '–'} |`);
  lines.push(`| orphan objects under studies/ (sweep, dry run, no grace) | ${s.orphans} of ${inv.orphans?.scanned ?? 0} objects |`);
  lines.push(`| evaluation job | ${state.evaluation ? `${state.evaluation.status} (started at ${state.evaluation.t.toFixed(0)} s)` : 'not started'} |`);
  for (const e of state.aliasEvents) lines.push(`| alias ${e.action} at ${e.t.toFixed(0)} s | HTTP ${e.status}, production → v${e.toVersion ?? '?'} |`);
  const versions = swapWindows(r);
  if (versions) lines.push(`| predict answers by model version (before / between / after the moves) | ${versions} |`);
  const explained = firstByVersion(state.saliencyVersions);
  if (explained) lines.push(`| saliency maps by model version (first answer at; each version explained loads an explainer session) | ${explained} |`);
  lines.push(`| graceful stop after the load (SIGTERM → exit) | ${r.stopSeconds.toFixed(1)} s |`);
  if (state.driverErrors.length)
    lines.push(`| driver errors (not HTTP answers) | ${state.driverErrors.length}: ${state.driverErrors.slice(0, 3).join('; ')} |`);

  const routes = byRoute(state.records);
  const statuses = [...new Set(state.records.map((x) => x.status))].sort((a, b) => a - b);
  lines.push(
    '',
    '## Requests by route and status',
    '',
    `| route | ${statuses.join(' | ')} | p50 ms | p95 ms | p99 ms |`,
    `|---|${statuses.map(() => '---:').join('|')}|---:|---:|---:|`,
  );
  for (const [route, recs] of routes) {
    const l = latencies(recs);
    lines.push(
      `| ${route} | ${statuses.map((st) => recs.filter((x) => x.status === st).length || '').join(' | ')} | ${ms(percentile(l, 0.5))} | ${ms(percentile(l, 0.95))} | ${ms(percentile(l, 0.99))} |`,
    );
  }
  const all = latencies(state.records);
  lines.push(
    `| **all** | ${statuses.map((st) => state.records.filter((x) => x.status === st).length).join(' | ')} | ${ms(percentile(all, 0.5))} | ${ms(percentile(all, 0.95))} | ${ms(percentile(all, 0.99))} |`,
  );
  lines.push('', 'Latency: from sending the request to the response headers, as the client saw it (status 0: no answer).');

  const ws = windows(opt.durationS);
  lines.push('', '## Latency per route over time (p50 / p95 / p99 ms per window)', '');
  lines.push(`| route | ${ws.map((w) => `${w.from.toFixed(0)}–${w.to.toFixed(0)} s`).join(' | ')} |`, `|---|${ws.map(() => '---').join('|')}|`);
  for (const [route, recs] of routes) {
    const cells = ws.map((w) => {
      const l = latencies(recs.filter((x) => x.t >= w.from && x.t < w.to));
      return l.length ? `${ms(percentile(l, 0.5))} / ${ms(percentile(l, 0.95))} / ${ms(percentile(l, 0.99))}` : '';
    });
    lines.push(`| ${route} | ${cells.join(' | ')} |`);
  }
  lines.push(`| requests/s | ${ws.map((w) => (state.records.filter((x) => x.t >= w.from && x.t < w.to).length / (w.to - w.from)).toFixed(0)).join(' | ')} |`);

  lines.push(
    '',
    '## Memory and event loop over time',
    '',
    '| t s | RSS MB | V8 heap used MB | external MB | event-loop lag p99 ms | max ms |',
    '|---:|---:|---:|---:|---:|---:|',
  );
  const step = Math.max(1, Math.round(r.samples.length / 20));
  for (const x of r.samples.filter((_, i) => i % step === 0 || i === r.samples.length - 1))
    lines.push(
      `| ${x.t.toFixed(0)} | ${x.rssMb?.toFixed(0) ?? '–'} | ${x.heapUsedMb?.toFixed(0) ?? '–'} | ${x.externalMb?.toFixed(0) ?? '–'} | ${x.lagP99Ms === null ? '–' : ms(x.lagP99Ms)} | ${x.lagMaxMs === null ? '–' : ms(x.lagMaxMs)} |`,
    );

  lines.push('', '## Database and object store growth', '', '| t s | database MB (file + WAL) | objects | object store MB |', '|---:|---:|---:|---:|');
  for (const x of r.storage) lines.push(`| ${x.t.toFixed(0)} | ${mb(x.dbBytes)} | ${x.objects} | ${mb(x.objectBytes)} |`);
  const [a, b] = [r.storage[0], r.storage.at(-1)];
  if (a && b && s.requests > 0 && (inv.acknowledged ?? 0) > 0)
    lines.push(
      '',
      `Per acknowledged study: ${((b.dbBytes - a.dbBytes) / 1024 / inv.acknowledged!).toFixed(1)} KiB of database, ${((b.objectBytes - a.objectBytes) / 1024 / inv.acknowledged!).toFixed(1)} KiB of objects.`,
    );

  if (state.failures.length) {
    lines.push('', '## Failures (5xx and no answer), by route and reason', '', '| route | status | reason | count |', '|---|---:|---|---:|');
    const groups = new Map<string, number>();
    for (const f of state.failures) {
      // The reason without what varies per request (ids, timings), so equal causes group together.
      const reason = f.what
        .replace(/"requestId":"[^"]*"/g, '')
        .replace(/\d+ ms/g, 'N ms')
        .replace(/\|/g, '/');
      const key = `${f.route}\u0000${f.status}\u0000${reason}`;
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    for (const [key, n] of [...groups.entries()].sort((a, b) => b[1] - a[1])) {
      const [route, status, reason] = key.split('\u0000');
      lines.push(`| ${route} | ${status} | ${reason} | ${n} |`);
    }
    if (state.failures.length >= MAX_FAILURE_SAMPLES)
      lines.push('', `Only the first ${MAX_FAILURE_SAMPLES} failures are kept with their reason; the counts in the tables above are complete.`);
  }

  if (o.charts.length) lines.push('', '## Charts', '', ...o.charts.map((c) => `![${c}](${c})`));
  return `${lines.join('\n')}\n`;
}

/** predict answers by version in the three phases around the alias moves: "v1 1234 / v2 456 …". */
function swapWindows(r: SoakResult): string | null {
  const [promote, rollback] = r.state.aliasEvents;
  if (!promote || !rollback || r.state.predictVersions.length === 0) return null;
  const phase = (from: number, to: number) => {
    const counts = new Map<number, number>();
    for (const p of r.state.predictVersions) if (p.t >= from && p.t < to) counts.set(p.version, (counts.get(p.version) ?? 0) + 1);
    return (
      [...counts.entries()]
        .sort((x, y) => x[0] - y[0])
        .map(([v, n]) => `v${v} ${n}`)
        .join(', ') || '–'
    );
  };
  return `${phase(0, promote.t)} / ${phase(promote.t, rollback.t)} / ${phase(rollback.t, Number.POSITIVE_INFINITY)}`;
}

/** "v1 120 (first at 31 s), v2 14 (first at 402 s)": how many answers came from each version, and when the first came. */
function firstByVersion(answers: readonly { t: number; version: number }[]): string | null {
  const by = new Map<number, { n: number; first: number }>();
  for (const a of answers) {
    const v = by.get(a.version);
    if (v) v.n++;
    else by.set(a.version, { n: 1, first: a.t });
  }
  if (by.size === 0) return null;
  return [...by.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([v, { n, first }]) => `v${v} ${n} (first at ${first.toFixed(0)} s)`)
    .join(', ');
}

/** The charts, written to `dir`; returns their file names. */
export async function writeCharts(r: SoakResult, dir: string): Promise<string[]> {
  const pts = (f: (x: SoakResult['samples'][number]) => number | null) =>
    r.samples.flatMap((x) => {
      const y = f(x);
      return y === null ? [] : [{ x: x.t, y }];
    });
  const memory: LineChartOptions[] = [
    {
      title: 'Server memory',
      series: [
        { name: 'RSS MB', points: pts((x) => x.rssMb) },
        { name: 'V8 heap used MB', points: pts((x) => x.heapUsedMb) },
        { name: 'external MB', points: pts((x) => x.externalMb) },
      ],
      xLabel: 'seconds',
      yLabel: 'MB',
      yMin: 0,
    },
    {
      title: 'Event-loop lag',
      series: [
        { name: 'p99 ms', points: pts((x) => x.lagP99Ms) },
        { name: 'max ms', points: pts((x) => x.lagMaxMs) },
      ],
      xLabel: 'seconds',
      yLabel: 'ms',
      yMin: 0,
    },
  ];
  const ws = windows(r.options.durationS);
  const routes = byRoute(r.state.records).slice(0, 8);
  const latency: Series[] = routes.map(([route, recs]) => ({
    name: route.length > 24 ? `${route.slice(0, 23)}…` : route,
    points: ws.flatMap((w) => {
      const l = latencies(recs.filter((x) => x.t >= w.from && x.t < w.to));
      return l.length ? [{ x: (w.from + w.to) / 2, y: percentile(l, 0.95) }] : [];
    }),
  }));
  const throughput: Series[] = [
    {
      name: 'requests/s',
      points: ws.map((w) => ({ x: (w.from + w.to) / 2, y: r.state.records.filter((x) => x.t >= w.from && x.t < w.to).length / (w.to - w.from) })),
    },
    {
      name: '5xx + no answer /s',
      points: ws.map((w) => ({
        x: (w.from + w.to) / 2,
        y: r.state.records.filter((x) => x.t >= w.from && x.t < w.to && (x.status >= 500 || x.status === 0)).length / (w.to - w.from),
      })),
    },
  ];
  const files: [string, Promise<Buffer>][] = [
    ['soak-memory.png', renderChartsPng(memory)],
    [
      'soak-latency.png',
      renderLineChartPng({
        title: 'p95 latency per route (top 8 by count)',
        series: latency,
        xLabel: 'seconds',
        yLabel: 'ms',
        width: 900,
        height: 420,
        yMin: 0,
      }),
    ],
    ['soak-throughput.png', renderLineChartPng({ title: 'Throughput', series: throughput, xLabel: 'seconds', yLabel: 'per second', yMin: 0 })],
  ];
  for (const [name, png] of files) await writeFile(join(dir, name), await png);
  return files.map(([n]) => n);
}
