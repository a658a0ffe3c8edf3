// `npm run bench -- etl [options]`: the dataset ETL on a 5 000-image synthetic set at the real
// datasets' sizes (CXR 1024², OCT 512×496; ≈556 images per class × 9 classes). Synthesizes the
// archives once (or reuses --raw DIR), builds into a temporary SECONDREAD home (SQLite + filesystem
// store), and prints images/s with the time of every phase, the no-op rerun, validation, the
// training cache, and peak RSS (memory must stay flat however many images stream through).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { buildCache } from '../src/data/cache/build-cache.js';
import { buildDataset } from '../src/data/etl/build.js';
import { loadDatasetConfig } from '../src/data/etl/config.js';
import { SYNTH_DEFAULTS, synthesizeArchives } from '../src/data/synth/index.js';
import { validateVersion } from '../src/data/validate/validate-version.js';
import { migrateToLatest, openDatabase } from '../src/storage/db.js';
import { FsObjectStore } from '../src/storage/fs-object-store.js';
import { benchArgs } from './support/args.js';

const USAGE = `usage: npm run bench -- etl [--raw DIR] [--per-class 556] [--cxr-size 1024] [--oct-width 512] [--oct-height 496]
                             [--concurrency 3] [--cache-size 64] [--json] [--keep]`;
const ARCHIVES = ['COVID-19_Radiography_Dataset.zip', 'TB_Chest_Radiography_Database.zip', 'OCT2017.tar.gz'];
const EXAMPLE = resolve(import.meta.dirname, '../examples/datasets.yaml');

interface Options {
  raw?: string;
  perClass: number;
  cxrSize: number;
  octWidth: number;
  octHeight: number;
  concurrency: number;
  cacheSize: number;
  json: boolean;
  keep: boolean;
}

function parseArgs(args: string[]): Options {
  const defaults: Options = {
    perClass: 556,
    cxrSize: SYNTH_DEFAULTS.cxrSize,
    octWidth: SYNTH_DEFAULTS.octWidth,
    octHeight: SYNTH_DEFAULTS.octHeight,
    concurrency: 3,
    cacheSize: 64,
    json: false,
    keep: false,
  };
  return benchArgs(args, USAGE, defaults, {
    '--raw': (o, v) => (o.raw = resolve(v.text())),
    '--per-class': (o, v) => (o.perClass = v.int()),
    '--cxr-size': (o, v) => (o.cxrSize = v.int()),
    '--oct-width': (o, v) => (o.octWidth = v.int()),
    '--oct-height': (o, v) => (o.octHeight = v.int()),
    '--concurrency': (o, v) => (o.concurrency = Math.max(1, v.int())),
    '--cache-size': (o, v) => (o.cacheSize = v.int()),
    '--json': (o) => (o.json = true),
    '--keep': (o) => (o.keep = true),
  });
}

/** Samples RSS every 100 ms; the peak is what a 5 000-image build costs in memory. */
function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  return {
    stop: () => {
      clearInterval(t);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, (performance.now() - t) / 1000];
}

export async function main(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const work = await mkdtemp(join(tmpdir(), 'sr-bench-etl-'));
  const raw = o.raw ?? join(work, 'raw');
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    let synthSeconds: number | undefined;
    if (ARCHIVES.every((a) => existsSync(join(raw, a)))) {
      log(`reusing archives in ${raw}`);
    } else {
      log(`synthesizing ${o.perClass} images per class (CXR ${o.cxrSize}², OCT ${o.octWidth}×${o.octHeight}) into ${raw} …`);
      [, synthSeconds] = await timed(() =>
        synthesizeArchives({ outDir: raw, perClass: o.perClass, cxrSize: o.cxrSize, octWidth: o.octWidth, octHeight: o.octHeight, force: true }),
      );
    }
    const home = join(work, 'home');
    const db = openDatabase({ sqlitePath: join(home, 'secondread.db') });
    await migrateToLatest(db);
    const objects = new FsObjectStore(join(home, 'objects'));
    const config = loadDatasetConfig(EXAMPLE, { rawDir: raw });

    log('building …');
    const rssBefore = process.memoryUsage().rss;
    const rss = rssSampler();
    const [build, buildSeconds] = await timed(() => buildDataset({ db, objects, config, concurrency: o.concurrency }));
    const peakRss = rss.stop();
    const [, rerunSeconds] = await timed(() => buildDataset({ db, objects, config }));
    const [validation, validateSeconds] = await timed(() => validateVersion(db, build.versionId, { objects }));
    let cacheSeconds: number | undefined;
    if (o.cacheSize > 0)
      [, cacheSeconds] = await timed(() => buildCache({ db, objects, versionId: build.versionId, size: o.cacheSize, dir: join(home, 'cache') }));
    await db.destroy();

    const images = build.report.images;
    const archiveBytes = build.report.archives.reduce((n, a) => n + a.sizeBytes, 0);
    const result = {
      images,
      archiveMB: +(archiveBytes / 1e6).toFixed(1),
      concurrency: o.concurrency,
      buildSeconds: +buildSeconds.toFixed(2),
      imagesPerSecond: +(images / buildSeconds).toFixed(1),
      phasesSeconds: Object.fromEntries(Object.entries(build.report.timingsMs).map(([k, v]) => [k, +(v / 1000).toFixed(2)])),
      rerunNoopSeconds: +rerunSeconds.toFixed(2),
      validateSeconds: +validateSeconds.toFixed(2),
      validationOk: validation.ok,
      cacheSize: o.cacheSize || undefined,
      cacheSeconds: cacheSeconds === undefined ? undefined : +cacheSeconds.toFixed(2),
      cacheImagesPerSecond: cacheSeconds === undefined ? undefined : +(images / cacheSeconds).toFixed(1),
      peakRssMB: Math.round(peakRss / 1e6),
      rssBeforeBuildMB: Math.round(rssBefore / 1e6),
      synthSeconds: synthSeconds === undefined ? undefined : +synthSeconds.toFixed(1),
    };
    if (o.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const p = result.phasesSeconds;
    process.stdout.write(
      [
        `ETL benchmark: ${images} images, ${result.archiveMB} MB of archives, ${o.concurrency} decode-checks + 8 uploads in flight`,
        `  data build        ${result.buildSeconds.toFixed(2).padStart(8)} s   ${String(result.imagesPerSecond).padStart(7)} images/s`,
        `    hash archives   ${String(p.hash?.toFixed(2)).padStart(8)} s`,
        `    scan            ${String(p.scan?.toFixed(2)).padStart(8)} s   (extract + sha256 + decode-check + upload)`,
        `    split + assert  ${String(p.split?.toFixed(2)).padStart(8)} s`,
        `    publish         ${String(p.publish?.toFixed(2)).padStart(8)} s   (manifest.jsonl + DB rows in one transaction)`,
        `  rerun (no-op)     ${result.rerunNoopSeconds.toFixed(2).padStart(8)} s`,
        `  data validate     ${result.validateSeconds.toFixed(2).padStart(8)} s   (${validation.ok ? 'OK' : 'INVALID'})`,
        cacheSeconds === undefined
          ? ''
          : `  data cache ${o.cacheSize}²    ${cacheSeconds.toFixed(2).padStart(8)} s   ${String(result.cacheImagesPerSecond).padStart(7)} images/s`,
        `  peak RSS during build: ${result.peakRssMB} MB (${result.rssBeforeBuildMB} MB before it started${synthSeconds === undefined ? '' : ', incl. the in-process synthesis'})`,
        synthSeconds === undefined ? '' : `  (synthesis, not part of the ETL: ${result.synthSeconds} s)`,
      ]
        .filter(Boolean)
        .join('\n') + '\n',
    );
  } finally {
    if (o.keep) log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}
