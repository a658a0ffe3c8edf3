// `npm run bench -- serve [options]`: secondread's HTTP server vs the seed's serving style, side by side in one run.
//
// Servers, each its own process:
//   secondread (batching on)   `secondread serve`, dynamic batcher with its defaults (greedy: no queue delay)
//   secondread (batching off)  `secondread serve --no-batching` (every request is its own batch of 1)
//   secondread (fixed … delay) with --fixed-delay-us: Triton's fixed queue delay (the batcher's old default was 2000 µs)
//   FastAPI peer               bench/peers/fastapi_vit.py: FastAPI + uvicorn, PIL decode, one PyTorch forward per request
// Our servers are up together and driven one at a time, in turn, at each concurrency (--rounds interleaves them, the
// order flipping each round), so on a machine shared with other work the on/off ratios compare like with like; the
// peer is measured alone afterwards. All serve vit-small (64×64×1, same architecture; random seeded weights: speed
// does not depend on them) and all get the same requests: multipart uploads of 1024×1024 chest X-ray phantom PNGs,
// driven by autocannon at each concurrency. A second workload sends the same images already preprocessed, as KServe
// v2 FP32 tensors (what a Triton client sends): with no PNG decode in the request, it shows what dynamic batching does
// when the model is the main cost. Latency percentiles are computed from every response's time (autocannon's own
// summary has no p95).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import autocannon from 'autocannon';
import ort from 'onnxruntime-node';

import { freePort } from '../src/api/testing/orthanc.js';
import { Rng } from '../src/core/rng.js';
import { SECONDREAD_CLASSES } from '../src/data/classes.js';
import { preprocessImage } from '../src/data/images/preprocess.js';
import { renderCxr } from '../src/data/synth/cxr.js';
import { encodeGray } from '../src/data/synth/encode.js';
import { createOrtSession } from '../src/engine/session/execution.js';
import { vitConfig } from '../src/models/vit.js';
import { benchArgs, refuse } from './support/args.js';
import { percentile, prepareBenchStore, startProcess, stopProcess, tensorBodies, waitFor } from './support/server.js';

const PYTHON = '/usr/bin/python3';
const MODEL = 'bench-vit-small';
const ON = 'secondread (batching on)';
const OFF = 'secondread (batching off)';

interface Options {
  connections: number[];
  duration: number;
  images: number;
  threads: number;
  peer: boolean;
  json: boolean;
  /** Which workloads run (default both). */
  workloads: ('png' | 'tensor')[];
  /** Also measure the batcher with a fixed queue delay (Triton's behaviour, the old default): µs, or none. */
  fixedDelayUs: number | null;
  /** Interleaved rounds per concurrency (each server driven `rounds` times for `duration` s). */
  rounds: number;
}

const USAGE = `usage: npm run bench -- serve [--connections 1,8,32,64] [--duration 10] [--images 8] [--threads 2] [--rounds 1] [--workloads png,tensor] [--fixed-delay-us 2000] [--no-peer] [--json]`;

function parseArgs(args: string[]): Options {
  const defaults: Options = {
    connections: [1, 8, 32, 64],
    duration: 10,
    images: 8,
    threads: 2,
    peer: true,
    json: false,
    workloads: ['png', 'tensor'],
    fixedDelayUs: null,
    rounds: 1,
  };
  return benchArgs(args, USAGE, defaults, {
    '--connections': (o, v) => (o.connections = v.ints(1)),
    '--duration': (o, v) => (o.duration = v.int(1)),
    '--images': (o, v) => (o.images = v.int(1)),
    '--threads': (o, v) => (o.threads = v.int(1)),
    '--workloads': (o, v) => {
      const names = v.list();
      for (const n of names) if (n !== 'png' && n !== 'tensor') refuse(`--workloads takes png and/or tensor, got '${n}'`, USAGE);
      o.workloads = names as Options['workloads'];
    },
    '--fixed-delay-us': (o, v) => (o.fixedDelayUs = v.int(1)),
    '--rounds': (o, v) => (o.rounds = v.int(1)),
    '--no-peer': (o) => (o.peer = false),
    '--json': (o) => (o.json = true),
  });
}

async function phantomPngs(n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const cls = SECONDREAD_CLASSES.filter((c) => c.startsWith('lung-'))[i % 5]!;
    const img = renderCxr(cls, new Rng(1000 + i), { width: 1024, height: 1024 });
    out.push(await encodeGray(img, 'png'));
  }
  return out;
}

function multipart(png: Buffer, boundary: string): Buffer {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cxr.png"\r\nContent-Type: image/png\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), png, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}

/** CPU seconds (user + system, all threads) of a process, from /proc/<pid>/stat; undefined where there is no /proc. */
async function processCpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: Linux reports process times in 1/100 s on every architecture Node runs on. */
const CLOCK_TICKS = 100;

interface Server {
  label: string;
  url: string;
  /** KServe v2 infer URL (secondread only). */
  inferUrl?: string;
  /** Prometheus endpoint (secondread only): the batcher's own account of batch sizes and queue time. */
  metricsUrl?: string;
  /** CPU seconds the server process has used so far (all its threads), from /proc. */
  cpuSeconds(): Promise<number | undefined>;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

/** What one request carries: a multipart PNG upload, or an already preprocessed FP32 tensor (KServe v2 JSON). */
interface Workload {
  name: string;
  contentType: string;
  bodies: Buffer[];
  target(s: Server): string | undefined;
}

async function startSecondread(label: string, home: string, token: string, o: Options, extra: string[]): Promise<Server> {
  const port = await freePort();
  const args = ['bin/secondread.js', 'serve', '--port', String(port), '--threads', String(o.threads), '--preload', `${MODEL}@production`, ...extra];
  const p = startProcess(process.execPath, args, { ...process.env, SECONDREAD_HOME: home, LOG_LEVEL: 'warn' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/readyz`, p.child, p.log);
  return {
    label,
    url: `${url}/v1/models/${MODEL}/predict`,
    inferUrl: `${url}/v2/models/${MODEL}/infer`,
    metricsUrl: `${url}/metrics`,
    cpuSeconds: () => processCpuSeconds(p.child.pid),
    headers: { authorization: `Bearer ${token}` },
    stop: () => stopProcess(p.child),
  };
}

async function startPeer(dir: string, o: Options): Promise<Server> {
  const port = await freePort();
  const cfgPath = join(dir, 'peer-config.json');
  await writeFile(cfgPath, JSON.stringify({ ...vitConfig('vit-small', { dropout: 0 }), classes: SECONDREAD_CLASSES }));
  const p = startProcess(PYTHON, ['bench/peers/fastapi_vit.py', '--config', cfgPath, '--port', String(port), '--threads', String(o.threads)], process.env);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/healthz`, p.child, p.log);
  return {
    label: 'FastAPI + PyTorch (peer)',
    url: `${url}/predict`,
    headers: {},
    cpuSeconds: () => processCpuSeconds(p.child.pid),
    stop: () => stopProcess(p.child),
  };
}

interface Measurement {
  workload: string;
  server: string;
  connections: number;
  requests: number;
  errors: number;
  non2xx: number;
  imagesPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  /** images/s of each round's drive, in round order (rounds interleave the servers). */
  perRound: number[];
  /** From the server's /metrics over this level's drives: requests per executed batch, and ms a request waited in the batcher. */
  meanBatch?: number;
  meanQueueMs?: number;
  /**
   * Server CPU ms per answered request over this level (user + system, every thread). Far less sensitive than images/s
   * to other work on a shared machine, and what bounds throughput when the server is CPU-bound: cores ÷ CPU per request.
   */
  cpuMsPerRequest?: number;
}

/** What one autocannon run saw: every response's time, and how many were 2xx. */
interface Drive {
  times: number[];
  ok: number;
  errors: number;
  non2xx: number;
  seconds: number;
}

async function drive(server: Server, w: Workload, connections: number, seconds: number): Promise<Drive> {
  const url = w.target(server);
  if (!url) throw new Error(`${server.label} has no endpoint for ${w.name}`);
  const bodies = w.bodies;
  let next = 0;
  const times: number[] = [];
  let ok = 0;
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        method: 'POST',
        headers: { ...server.headers, 'content-type': w.contentType },
        requests: [{ setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      times.push(ms);
      if (status >= 200 && status < 300) ok++;
    });
  });
  return { times, ok, errors: r.errors + r.timeouts, non2xx: r.non2xx, seconds };
}

/** One row from every drive of a (server, workload, concurrency): totals over the rounds, percentiles over all responses. */
function summarize(server: Server, w: Workload, connections: number, drives: Drive[]): Measurement {
  const times = drives.flatMap((d) => d.times).sort((a, b) => a - b);
  const sum = (f: (d: Drive) => number): number => drives.reduce((s, d) => s + f(d), 0);
  return {
    workload: w.name,
    server: server.label,
    connections,
    requests: times.length,
    errors: sum((d) => d.errors),
    non2xx: sum((d) => d.non2xx),
    imagesPerSecond: sum((d) => d.ok) / sum((d) => d.seconds),
    p50: percentile(times, 0.5),
    p95: percentile(times, 0.95),
    p99: percentile(times, 0.99),
    perRound: drives.map((d) => d.ok / d.seconds),
  };
}

/** Sums of the batcher's histograms on a secondread server's /metrics (all model versions). */
interface BatchTotals {
  sizeSum: number;
  sizeCount: number;
  queueSum: number;
  queueCount: number;
}

async function batchTotals(server: Server): Promise<BatchTotals | undefined> {
  if (!server.metricsUrl) return undefined;
  const text = await (await fetch(server.metricsUrl, { headers: server.headers })).text();
  const total = (name: string): number =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .reduce((acc, l) => acc + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return {
    sizeSum: total('secondread_batch_size_sum'),
    sizeCount: total('secondread_batch_size_count'),
    queueSum: total('secondread_batch_queue_seconds_sum'),
    queueCount: total('secondread_batch_queue_seconds_count'),
  };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Measures servers that are all up at once, interleaved: at each concurrency, every round drives each server in turn
 * (the order flips every round), so that on a machine shared with other work, load that comes and goes falls on all
 * of them alike and the ratios compare like with like.
 */
async function measure(servers: Server[], workloads: Workload[], o: Options): Promise<Measurement[]> {
  const out: Measurement[] = [];
  for (const w of workloads) {
    const targets = servers.filter((s) => w.target(s));
    if (targets.length === 0) continue;
    // Warm-up (sessions, allocator, JIT), then a pause so a slow server has finished its backlog before timing.
    for (const s of targets) await drive(s, w, 8, 3);
    await pause(2000);
    for (const c of o.connections) {
      const drives = new Map<Server, Drive[]>(targets.map((s) => [s, []]));
      const before = new Map(await Promise.all(targets.map(async (s) => [s, await batchTotals(s)] as const)));
      const cpuBefore = new Map(await Promise.all(targets.map(async (s) => [s, await s.cpuSeconds()] as const)));
      for (let round = 0; round < o.rounds; round++) {
        for (const s of round % 2 === 0 ? targets : [...targets].reverse()) {
          drives.get(s)!.push(await drive(s, w, c, o.duration));
          await pause(500);
        }
      }
      for (const s of targets) {
        const m = summarize(s, w, c, drives.get(s)!);
        const [c0, c1] = [cpuBefore.get(s), await s.cpuSeconds()];
        if (c0 !== undefined && c1 !== undefined && m.requests > 0) m.cpuMsPerRequest = ((c1 - c0) * 1000) / m.requests;
        const [a, b] = [before.get(s), await batchTotals(s)];
        if (a && b && b.sizeCount > a.sizeCount) {
          m.meanBatch = (b.sizeSum - a.sizeSum) / (b.sizeCount - a.sizeCount);
          m.meanQueueMs = ((b.queueSum - a.queueSum) / (b.queueCount - a.queueCount)) * 1000;
        }
        out.push(m);
        console.error(`  ${w.name} · ${s.label} c=${c}: ${m.imagesPerSecond.toFixed(1)} img/s, p50 ${m.p50.toFixed(1)} ms`);
      }
    }
  }
  return out;
}

interface CpuBreakdown {
  /** CPU ms per image (all threads of this process), measured one call at a time with nothing else running. */
  preprocess: number;
  computeBatch1: number;
  computeBatch32: number;
}

/** CPU time per call of `op`, averaged over `n` calls after two warm-up calls. */
async function cpuPerCall(n: number, op: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await op(i);
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) await op(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / n;
}

/**
 * Where a PNG request's CPU goes, in-process: the shared preprocessing (decode + resize, identical with and without
 * batching) and the model at batch 1 vs 32 per image. On a CPU-bound machine throughput is cores / CPU per image, so
 * batching on/off at best reaches (preprocess + batch-1) / (preprocess + batch-32): the ceiling of the PNG ratio
 * before any HTTP work, which both modes also pay.
 */
async function cpuBreakdown(pngs: Buffer[], onnx: Uint8Array, threads: number, size: number): Promise<CpuBreakdown> {
  const preprocess = await cpuPerCall(3 * pngs.length, (i) => preprocessImage(pngs[i % pngs.length]!, size));
  const session = await createOrtSession(onnx, 'benchmark model', { intraOpThreads: threads });
  try {
    const name = session.inputNames[0]!;
    const input = (n: number): ort.Tensor => new ort.Tensor('float32', new Float32Array(n * size * size).fill(0.1), [n, 1, size, size]);
    const one = input(1);
    const many = input(32);
    const computeBatch1 = await cpuPerCall(64, () => session.run({ [name]: one }));
    const computeBatch32 = (await cpuPerCall(8, () => session.run({ [name]: many }))) / 32;
    return { preprocess, computeBatch1, computeBatch32 };
  } finally {
    await session.release();
  }
}

const fmt = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : '—');

function table(rows: Measurement[]): string {
  const head = [
    'workload',
    'server',
    'conc',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'images/s',
    'mean batch',
    'queue ms',
    'CPU ms/req',
    'requests',
    'errors',
    'non-2xx',
  ];
  const body = rows.map((m) => [
    m.workload,
    m.server,
    String(m.connections),
    fmt(m.p50),
    fmt(m.p95),
    fmt(m.p99),
    fmt(m.imagesPerSecond),
    m.meanBatch === undefined ? '—' : fmt(m.meanBatch),
    m.meanQueueMs === undefined ? '—' : fmt(m.meanQueueMs, 2),
    m.cpuMsPerRequest === undefined ? '—' : fmt(m.cpuMsPerRequest, 2),
    String(m.requests),
    String(m.errors),
    String(m.non2xx),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export async function main(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const dir = await mkdtemp(join(tmpdir(), 'secondread-bench-serve-'));
  try {
    console.error('preparing: vit-small registered as production, admin token, 1024×1024 CXR phantoms …');
    const { token, onnx } = await prepareBenchStore(dir, { name: MODEL, experiment: 'bench-serve', threads: o.threads });
    const pngs = await phantomPngs(o.images);
    const cpu = await cpuBreakdown(pngs, onnx, o.threads, vitConfig('vit-small').imageSize);
    const boundary = 'secondreadbenchboundary';
    const png: Workload = {
      name: 'PNG upload',
      contentType: `multipart/form-data; boundary=${boundary}`,
      bodies: pngs.map((p) => multipart(p, boundary)),
      target: (s) => s.url,
    };
    const tensor: Workload = { name: 'v2 tensor', contentType: 'application/json', bodies: await tensorBodies(pngs), target: (s) => s.inferUrl };
    const workloads = [...(o.workloads.includes('png') ? [png] : []), ...(o.workloads.includes('tensor') ? [tensor] : [])];
    const rows: Measurement[] = [];
    // Batching on and off (and the fixed-delay variant) are up at once and driven in turn at each level.
    const ours: Server[] = [];
    try {
      ours.push(await startSecondread(ON, dir, token, o, []));
      ours.push(await startSecondread(OFF, dir, token, o, ['--no-batching']));
      if (o.fixedDelayUs !== null)
        ours.push(await startSecondread(`secondread (fixed ${o.fixedDelayUs} µs delay)`, dir, token, o, ['--max-queue-delay-us', String(o.fixedDelayUs)]));
      rows.push(...(await measure(ours, workloads, o)));
    } finally {
      await Promise.all(ours.map((s) => s.stop()));
    }
    // The peer alone, afterwards: its Python process would otherwise compete for the cores while ours are measured.
    if (o.peer && o.workloads.includes('png')) {
      const peer = await startPeer(dir, o);
      try {
        rows.push(...(await measure([peer], workloads, o)));
      } finally {
        await peer.stop();
      }
    }
    if (o.json) {
      console.log(JSON.stringify({ rows, cpu }, null, 2));
      return;
    }
    console.log(
      `\nvit-small, ${pngs.length} distinct 1024×1024 PNGs (${fmt(pngs.reduce((s, p) => s + p.length, 0) / pngs.length / 1024, 0)} KiB each), ${o.duration} s per level, ${o.threads} threads per server\n`,
    );
    console.log(table(rows));
    const find = (server: string, c: number, workload = png.name): Measurement | undefined =>
      rows.find((r) => r.workload === workload && r.server.startsWith(server) && r.connections === c);
    const peak = (server: string): number =>
      Math.max(...rows.filter((r) => r.workload === png.name && r.server.startsWith(server)).map((r) => r.imagesPerSecond));
    // The ratio of totals, and the median of each round's on/off pair (driven back to back, so a burst of other load
    // on a shared machine spoils one pair rather than the whole comparison).
    const ratio = (workload: string, c: number): string | undefined => {
      const on = find(ON, c, workload);
      const off = find(OFF, c, workload);
      if (!on || !off) return undefined;
      const total = `${fmt(on.imagesPerSecond / off.imagesPerSecond, 2)}×`;
      const pairs = on.perRound.map((v, i) => v / off.perRound[i]!).sort((a, b) => a - b);
      const rounds =
        o.rounds > 1 ? ` (median of ${pairs.length} rounds ${fmt(percentile(pairs, 0.5), 2)}×, range ${fmt(pairs[0]!, 2)}–${fmt(pairs.at(-1)!, 2)})` : '';
      const cpu =
        on.cpuMsPerRequest !== undefined && off.cpuMsPerRequest !== undefined
          ? `; server CPU per request off / on ${fmt(off.cpuMsPerRequest / on.cpuMsPerRequest, 2)}×`
          : '';
      return total + rounds + cpu;
    };
    const on1 = find(ON, 1);
    const peer1 = find('FastAPI', 1);
    const cMax = Math.max(...o.connections);
    console.log('\nratios (goal in brackets):');
    if (on1 && peer1) console.log(`  p50 at concurrency 1, secondread / peer:       ${fmt(on1.p50 / peer1.p50, 3)}  [≤ 0.2]`);
    if (peer1) console.log(`  peak images/s, secondread / peer:              ${fmt(peak(ON) / peak('FastAPI'), 2)}×  [≥ 3]`);
    for (const [w, c, goal] of [
      [tensor.name, 1, '≥ 0.95'],
      [tensor.name, 32, '≥ 1.3'],
      [png.name, 1, '≥ 0.95'],
      [png.name, 32, 'as measured'],
    ] as const) {
      const r = ratio(w, c);
      if (r !== undefined) console.log(`  images/s, batching on / off, ${w.padEnd(10)} c=${String(c).padEnd(2)}: ${r}  [${goal}]`);
    }
    for (const w of workloads) {
      const onMax = find(ON, cMax, w.name);
      if (onMax) console.log(`  errors at concurrency ${cMax} (batching on), ${w.name}: ${onMax.errors + onMax.non2xx}  [0]`);
    }
    const ceiling = (cpu.preprocess + cpu.computeBatch1) / (cpu.preprocess + cpu.computeBatch32);
    console.log(
      `\nCPU per image, in-process, one call at a time (ms): PNG preprocessing ${fmt(cpu.preprocess, 2)}, model at batch 1 ${fmt(cpu.computeBatch1, 2)}, at batch 32 ${fmt(cpu.computeBatch32, 2)}`,
    );
    console.log(`  ceiling of PNG batching on / off from these alone: (preprocess + batch 1) / (preprocess + batch 32) = ${fmt(ceiling, 2)}×`);
    console.log(
      `  even if batched compute were free:                 (preprocess + batch 1) / preprocess = ${fmt((cpu.preprocess + cpu.computeBatch1) / cpu.preprocess, 2)}×`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
