// `npm run bench -- soak [--duration 600] [--connections 64] [--out DIR] [--threads 2] [--promote-at S] [--rollback-at S] [--keep-home] [--json]`:
// ten minutes (by default) of mixed traffic at c=64 on one `secondread serve` process on loopback — studies taken in
// as PNG, JPEG and DICOM phantoms, reads A and B by simulated readers, predict and KServe v2 calls, worklists,
// /metrics scrapes, saliency maps, an evaluation job, and the production alias promoted and rolled back in the middle
// (hot swap; at 40 % and 60 % of the run unless --promote-at/--rollback-at give the seconds). Then the invariants are checked (every acknowledged study and read is there, `audit verify` passes,
// worklists equal the database, no orphan objects) and a markdown report with charts is written to a directory it
// prints. Exit 1 when a goal is not met (0 5xx, 0 lost studies, RSS after warm-up flat within 10 %).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { benchArgs } from './support/args.js';
import { runSoak } from './support/soak.js';
import { renderMarkdown, summarize, writeCharts } from './support/soak-report.js';

interface Options {
  durationS: number;
  concurrency: number;
  threads: number;
  out: string | null;
  keepHome: boolean;
  json: boolean;
  promoteAtS?: number;
  rollbackAtS?: number;
}

const USAGE =
  'usage: npm run bench -- soak [--duration 600] [--connections 64] [--threads 2] [--promote-at S] [--rollback-at S] [--out DIR] [--keep-home] [--json]';

function parseArgs(args: string[]): Options {
  const defaults: Options = { durationS: 600, concurrency: 64, threads: 2, out: null, keepHome: false, json: false };
  return benchArgs(args, USAGE, defaults, {
    '--duration': (o, v) => (o.durationS = v.int(1)),
    '--connections': (o, v) => (o.concurrency = v.int(1)),
    '--threads': (o, v) => (o.threads = v.int(1)),
    '--promote-at': (o, v) => (o.promoteAtS = v.int(1)),
    '--rollback-at': (o, v) => (o.rollbackAtS = v.int(1)),
    '--out': (o, v) => (o.out = resolve(v.text())),
    '--keep-home': (o) => (o.keepHome = true),
    '--json': (o) => (o.json = true),
  });
}

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export async function main(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const out = o.out ?? (await mkdtemp(join(tmpdir(), 'secondread-soak-')));
  await mkdir(out, { recursive: true });
  const home = await mkdtemp(join(tmpdir(), 'secondread-soak-home-'));
  const before = uptime();
  try {
    const result = await runSoak({
      durationS: o.durationS,
      concurrency: o.concurrency,
      threads: o.threads,
      ...(o.promoteAtS !== undefined ? { promoteAtS: o.promoteAtS } : {}),
      ...(o.rollbackAtS !== undefined ? { rollbackAtS: o.rollbackAtS } : {}),
      home,
      log: (l) => console.error(l),
    });
    const after = uptime();
    const summary = summarize(result);
    const charts = await writeCharts(result, out);
    await writeFile(join(out, 'soak.md'), renderMarkdown(result, summary, { load: { before, after }, charts }));
    await writeFile(
      join(out, 'soak.json'),
      JSON.stringify(
        { summary, options: result.options, invariants: result.invariants, samples: result.samples, storage: result.storage, load: { before, after } },
        null,
        1,
      ),
    );
    if (o.json) console.log(JSON.stringify(summary));
    console.log(`soak report: ${join(out, 'soak.md')} (charts: ${charts.join(', ')})`);
    console.log(
      `goals ${summary.goalsMet ? 'met' : 'NOT met'}: ${summary.requests} requests, ${summary.fiveXx} 5xx, ${summary.noAnswer} without answer, ` +
        `${summary.lost} lost of ${result.invariants.acknowledged} studies, RSS ${summary.rss ? `${(summary.rss.growth * 100).toFixed(1)} %` : '–'}`,
    );
    if (!summary.goalsMet) {
      console.error(`server log tail:\n${result.serverLogTail.slice(-2000)}`);
      process.exitCode = 1;
    }
  } finally {
    if (o.keepHome) console.log(`home kept: ${home}`);
    else await rm(home, { recursive: true, force: true });
  }
}
