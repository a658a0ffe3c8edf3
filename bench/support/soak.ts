// The soak (issue 20): one `secondread serve` process on loopback under c mixed clients for a fixed time
// (soak-traffic.ts), sampled as it runs — the server's RSS from /proc, its event-loop lag from /metrics, the
// database file and the object store on disk — and checked afterwards (soak-checks.ts). `npm run bench -- soak`
// runs it for 10 minutes and writes the report (soak-report.ts); the integration tier runs it for 60 seconds.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { freePort } from '../../src/api/testing/orthanc.js';
import { SECONDREAD_CLASSES } from '../../src/data/classes.js';
import { publishTinyVersion } from '../../src/monitoring/evaluations/testing.js';
import { migrateToLatest, openDatabase } from '../../src/storage/db.js';
import { FsObjectStore } from '../../src/storage/fs-object-store.js';
import { ModelRegistry, Tracker } from '../../src/tracking/index.js';
import { tinyVitOnnx } from '../../src/tracking/testing.js';
import { UserStore } from '../../src/workflow/users.js';
import { embeddedEnv, prepareBenchStore, startProcess, stopProcess, waitFor } from './server.js';
import { checkInvariants, gauge, type Invariants } from './soak-checks.js';
import {
  awaitEvaluation,
  controlClient,
  imagePool,
  metricsScraper,
  mixedClient,
  saliencyClient,
  trafficContext,
  TrafficState,
  type TrafficTokens,
} from './soak-traffic.js';

export const SOAK_MODEL = 'soak-vit-small';

export interface SoakOptions {
  /** Seconds of load. */
  durationS: number;
  /** Mixed clients (the scraper, the saliency client and the control client run besides them). */
  concurrency: number;
  /** Where the home (database, objects) lives; the caller removes it. */
  home: string;
  /** Seconds between samples of RSS and lag (default 5). */
  sampleEveryS?: number;
  /** ONNX Runtime threads of the server (default 2). */
  threads?: number;
  /** Per request (default 125 s, longer than serve's own 120 s request timeout: only the server decides a request failed). */
  requestTimeoutMs?: number;
  /** Seconds into the load when the production alias is promoted to v2 (default 40 % of the run) and rolled back (default 60 %). */
  promoteAtS?: number;
  rollbackAtS?: number;
  /** Progress lines (default none). */
  log?: (line: string) => void;
}

export interface Sample {
  /** Seconds since the load began. */
  t: number;
  rssMb: number | null;
  /** The server's event-loop delay p99 since the previous scrape (prom-client's monitorEventLoopDelay), ms. */
  lagP99Ms: number | null;
  lagMaxMs: number | null;
  /** V8 heap in use and memory held outside it (Buffers, ArrayBuffers), from the last scrape: what RSS growth is made of. */
  heapUsedMb: number | null;
  externalMb: number | null;
}

export interface StorageSample {
  t: number;
  dbBytes: number;
  objectBytes: number;
  objects: number;
}

export interface SoakResult {
  options: Required<Omit<SoakOptions, 'log' | 'home'>>;
  startedAt: string;
  state: TrafficState;
  samples: Sample[];
  storage: StorageSample[];
  invariants: Invariants;
  /** Seconds the server took to stop on SIGTERM after the load (graceful drain). */
  stopSeconds: number;
  serverLogTail: string;
}

/** A home with vit-small v1 in production and a v2 to hot-swap to, an admin, a reader, an adjudicator and a tiny dataset version. */
export async function prepareSoakHome(home: string, threads: number): Promise<{ tokens: TrafficTokens; datasetVersion: string }> {
  const { token: admin } = await prepareBenchStore(home, { name: SOAK_MODEL, experiment: 'soak', threads });
  const db = openDatabase({ sqlitePath: join(home, 'secondread.db') });
  await migrateToLatest(db);
  const objects = new FsObjectStore(join(home, 'objects'));
  try {
    const tracker = new Tracker(db, objects);
    const run = await tracker.startRun({ experiment: 'soak', params: { model: 'vit-small', seed: 8 } });
    await tracker.putArtifact(run.id, 'model.onnx', tinyVitOnnx({ variant: 'vit-small', classes: SECONDREAD_CLASSES, seed: 8, mean: 0.5, std: 0.25 }).bytes);
    await tracker.finishRun(run.id, 'finished');
    await new ModelRegistry(db, objects, tracker).register({ runId: run.id, name: SOAK_MODEL, by: 'soak' });
    const users = new UserStore(db);
    const reader = (await users.addUser({ name: 'soak-reader', role: 'reader' })).token;
    const adjudicator = (await users.addUser({ name: 'soak-adjudicator', role: 'adjudicator' })).token;
    const datasetVersion = await publishTinyVersion(db, objects);
    return { tokens: { admin, reader, adjudicator }, datasetVersion };
  } finally {
    await objects.close();
    await db.destroy();
  }
}

async function rssMb(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

async function treeBytes(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    const s = await stat(join(e.parentPath, e.name)).catch(() => undefined);
    if (s) {
      bytes += s.size;
      files++;
    }
  }
  return { bytes, files };
}

async function storageSample(home: string, t: number): Promise<StorageSample> {
  let dbBytes = 0;
  for (const f of ['secondread.db', 'secondread.db-wal', 'secondread.db-shm']) dbBytes += (await stat(join(home, f)).catch(() => ({ size: 0 }))).size;
  const o = await treeBytes(join(home, 'objects'));
  return { t, dbBytes, objectBytes: o.bytes, objects: o.files };
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const options = {
    durationS: o.durationS,
    concurrency: o.concurrency,
    sampleEveryS: o.sampleEveryS ?? 5,
    threads: o.threads ?? 2,
    requestTimeoutMs: o.requestTimeoutMs ?? 125_000,
    promoteAtS: o.promoteAtS ?? 0.4 * o.durationS,
    rollbackAtS: o.rollbackAtS ?? 0.6 * o.durationS,
  };
  if (!(options.promoteAtS < options.rollbackAtS && options.rollbackAtS < options.durationS))
    throw new Error(
      `the promotion (${options.promoteAtS} s) must come before the rollback (${options.rollbackAtS} s), both within the run (${options.durationS} s)`,
    );
  const begun = performance.now();
  const say = o.log ?? (() => {});
  const log = (line: string) => say(`[${((performance.now() - begun) / 1000).toFixed(0)} s] ${line}`);
  const { tokens, datasetVersion } = await prepareSoakHome(o.home, options.threads);
  const pool = await imagePool(4);
  log('soak: home and images ready; starting serve');

  const port = await freePort();
  const server = startProcess(
    process.execPath,
    [
      'bin/secondread.js',
      'serve',
      '--port',
      String(port),
      '--threads',
      String(options.threads),
      '--preload',
      `${SOAK_MODEL}@production`,
      '--alias-poll-ms',
      '1000',
    ],
    embeddedEnv(o.home),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/readyz`, server.child, server.log);
  } catch (err) {
    await stopProcess(server.child);
    throw err;
  }
  const pid = server.child.pid;
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const until = t0 + options.durationS * 1000;
  const state = new TrafficState(t0);
  const ctx = trafficContext(url, SOAK_MODEL, tokens, pool, state, options.requestTimeoutMs);
  const samples: Sample[] = [];
  const storage: StorageSample[] = [await storageSample(o.home, 0)];
  let last: Pick<Sample, 'lagP99Ms' | 'lagMaxMs' | 'heapUsedMb' | 'externalMb'> = { lagP99Ms: null, lagMaxMs: null, heapUsedMb: null, externalMb: null };

  // RSS and lag every sampleEveryS; the disk about ten times over the run (a walk of the object tree is not free).
  const sampler = (async () => {
    const storageEvery = Math.max(options.sampleEveryS, options.durationS / 10);
    let nextStorage = storageEvery;
    while (performance.now() < until) {
      await new Promise((r) => setTimeout(r, Math.min(options.sampleEveryS * 1000, Math.max(0, until - performance.now()))));
      const t = state.now();
      samples.push({ t, rssMb: await rssMb(pid), ...last });
      if (t >= nextStorage) {
        storage.push(await storageSample(o.home, t));
        nextStorage += storageEvery;
      }
      const done = state.records.length;
      const fives = state.records.filter((r) => r.status >= 500 || r.status === 0).length;
      log(`  t=${t.toFixed(0)} s: ${done} requests, ${state.studies.length} studies, ${fives} 5xx/no answer, RSS ${samples.at(-1)?.rssMb?.toFixed(0)} MB`);
    }
  })();
  const onScrape = (_t: number, text: string) => {
    const scaled = (name: string, by: number) => {
      const v = gauge(text, name);
      return v === null ? null : v * by;
    };
    last = {
      lagP99Ms: scaled('secondread_nodejs_eventloop_lag_p99_seconds', 1000),
      lagMaxMs: scaled('secondread_nodejs_eventloop_lag_max_seconds', 1000),
      heapUsedMb: scaled('secondread_nodejs_heap_size_used_bytes', 1 / (1024 * 1024)),
      externalMb: scaled('secondread_nodejs_external_memory_bytes', 1 / (1024 * 1024)),
    };
  };
  log(`soak: ${options.concurrency} clients for ${options.durationS} s against ${url} (pid ${pid})`);
  await Promise.all([
    ...Array.from({ length: options.concurrency }, (_, i) => mixedClient(ctx, 1000 + i, until)),
    saliencyClient(ctx, until, 1000),
    metricsScraper(ctx, until, Math.min(2000, options.sampleEveryS * 1000), onScrape),
    controlClient(ctx, {
      startMs: t0,
      durationMs: options.durationS * 1000,
      datasetVersion,
      toVersion: 2,
      promoteAtMs: options.promoteAtS * 1000,
      rollbackAtMs: options.rollbackAtS * 1000,
    }),
    sampler,
  ]);
  log('soak: load over; waiting for the evaluation, then checking');
  await awaitEvaluation(ctx, 120_000);
  log(`soak: evaluation ${state.evaluation?.status ?? 'not started'}`);
  storage.push(await storageSample(o.home, state.now()));

  // Checks that need the live server (worklists vs the database), then stop it and check the stores themselves.
  const invariants = await checkInvariants({ url, home: o.home, tokens, state, beforeStop: true });
  const stopStart = performance.now();
  await stopProcess(server.child);
  const stopSeconds = (performance.now() - stopStart) / 1000;
  Object.assign(invariants, await checkInvariants({ url, home: o.home, tokens, state, beforeStop: false }));
  log(`soak: stopped in ${stopSeconds.toFixed(1)} s; invariants checked`);
  return { options, startedAt, state, samples, storage, invariants, stopSeconds, serverLogTail: server.log() };
}
