// `npm run bench -- pacs [--count 8] [--size 2048] [--concurrency 2] [--syntaxes explicit-le,jpeg-ls,jpeg2000] [--dicom-workers 2] [--json]`:
// STOW-RS ingest of N chest X-ray DICOMs (size×size, 16-bit, 12 stored, identifying attributes filled in) per
// transfer syntax, side by side in one run:
//   secondread  `secondread serve` (a child process): each instance is parsed, decoded, de-identified, rendered,
//               stored, read by the model (vit-small) and recorded — the answer comes after the model read is stored
//   Orthanc     Debian's Orthanc + DICOMweb plugin (a child process): parse and store only
// The very same files go to both; the two servers are measured alternately per syntax (one idles while the other
// works) with the same client concurrency. Reported: instances/s and per-request p50/p95 (request sent → answer),
// and ours/Orthanc. Goal (issue 17): ingest with de-identification and model read ≥ 0.5× Orthanc's store-only rate.
// `--dicom-workers 0,2` runs one secondread server per setting of SECONDREAD_DICOM_WORKERS (0: DICOM prepared on
// the event loop; N: in N worker threads), each on its own instances, measured in turn with the others idle.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { freePort, orthancAvailable, startOrthanc } from '../src/api/testing/orthanc.js';
import { metaDict, parseDicom, writeDicom } from '../src/data/dicom/parse.js';
import { chestLike, cxrDicom } from '../src/data/dicom/testing.js';
import { WRITABLE_SYNTAXES, type WritableSyntax } from '../src/data/dicom/write.js';
import { benchArgs, refuse } from './support/args.js';
import { percentile, prepareBenchStore, startProcess, stopProcess, waitFor } from './support/server.js';

const USAGE =
  'usage: npm run bench -- pacs [--count 8] [--size 2048] [--concurrency 2] [--syntaxes explicit-le,jpeg-ls,jpeg2000] [--dicom-workers 2 | 0,2] [--json]';
const MODEL = 'bench-pacs';
const BOUNDARY = 'secondread-bench-boundary';

interface Options {
  count: number;
  size: number;
  concurrency: number;
  syntaxes: WritableSyntax[];
  /** SECONDREAD_DICOM_WORKERS of each secondread server measured. */
  dicomWorkers: number[];
  json: boolean;
}

interface Row {
  syntax: string;
  /** `secondread` (or `secondread w=N` when several worker settings are measured) or `Orthanc`. */
  server: string;
  instances: number;
  failures: number;
  instancesPerSecond: number;
  p50Ms: number;
  p95Ms: number;
}

function parseArgs(argv: string[]): Options {
  const defaults: Options = { count: 8, size: 2048, concurrency: 2, syntaxes: ['explicit-le', 'jpeg-ls', 'jpeg2000'], dicomWorkers: [2], json: false };
  return benchArgs(
    argv,
    USAGE,
    defaults,
    {
      '--count': (o, v) => (o.count = v.int(1)),
      '--size': (o, v) => (o.size = v.int(64)),
      '--concurrency': (o, v) => (o.concurrency = v.int(1)),
      '--syntaxes': (o, v) => (o.syntaxes = v.list() as WritableSyntax[]),
      '--dicom-workers': (o, v) => (o.dicomWorkers = v.ints()),
      '--json': (o) => (o.json = true),
    },
    (o) => {
      const bad = o.syntaxes.filter((s) => !(s in WRITABLE_SYNTAXES));
      if (bad.length) refuse(`unknown syntax: ${bad.join(', ')} (one of ${Object.keys(WRITABLE_SYNTAXES).join(', ')})`, USAGE);
      if (o.dicomWorkers.some((n) => n > 16)) refuse('--dicom-workers: integers from 0 to 16, comma-separated', USAGE);
      if (o.count > 1000 || o.size > 4096 || o.concurrency > 64) refuse('out of range: --count <= 1000, --size <= 4096, --concurrency <= 64', USAGE);
    },
  );
}

/** N instances of one encoded image, each its own patient, study, series and instance (UIDs re-written, pixels kept). */
async function instances(size: number, syntax: WritableSyntax, n: number, run: string): Promise<Buffer[]> {
  const base = await cxrDicom(chestLike(size), syntax, {
    PatientName: 'BENCH^PATIENT',
    PatientID: 'BENCH-0',
    PatientBirthDate: '19600101',
    StudyDate: '20261206',
    AccessionNumber: 'ACC0',
    InstitutionName: 'Bench General Hospital',
  });
  const file = parseDicom(base);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const uid = (k: number) => `2.25.${run}${String(i).padStart(4, '0')}${k}`;
    const dict = {
      ...file.dict,
      '00100010': { vr: 'PN', Value: [{ Alphabetic: `BENCH^PATIENT${i}` }] },
      '00100020': { vr: 'LO', Value: [`BENCH-${i}`] },
      '0020000D': { vr: 'UI', Value: [uid(1)] },
      '0020000E': { vr: 'UI', Value: [uid(2)] },
      '00080018': { vr: 'UI', Value: [uid(3)] },
    };
    const meta = { ...metaDict(file), '00020003': { vr: 'UI', Value: [uid(3)] } };
    delete (meta as Record<string, unknown>)['00020000']; // the writer computes the group length
    out.push(Buffer.from(writeDicom(meta, dict)));
  }
  return out;
}

function stowBody(instance: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`), instance, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
}

/** STOW-RS each instance in its own request, `concurrency` requests in flight. */
async function ingest(
  url: string,
  headers: Record<string, string>,
  files: Buffer[],
  concurrency: number,
): Promise<{ wallMs: number; latencies: number[]; failures: string[] }> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < files.length) {
      const body = stowBody(files[next++]!);
      const t = performance.now();
      const res = await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`, accept: 'application/dicom+json' },
        body,
      });
      const text = await res.text();
      latencies.push(performance.now() - t);
      if (res.status !== 200) failures.push(`${res.status} ${text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { wallMs: performance.now() - t0, latencies, failures };
}

function row(syntax: string, server: Row['server'], r: Awaited<ReturnType<typeof ingest>>): Row {
  const sorted = [...r.latencies].sort((a, b) => a - b);
  return {
    syntax,
    server,
    instances: r.latencies.length,
    failures: r.failures.length,
    instancesPerSecond: (r.latencies.length - r.failures.length) / (r.wallMs / 1000),
    p50Ms: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
  };
}

export async function main(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  if (!orthancAvailable()) {
    console.error('Orthanc is not installed (apt-get install orthanc orthanc-dicomweb): the peer of this benchmark');
    process.exit(1);
  }
  const dir = await mkdtemp(join(tmpdir(), 'sr-bench-pacs-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    console.error(`preparing: vit-small as production, ${o.count} ${o.size}² CXR DICOMs per syntax (${o.syntaxes.join(', ')}) …`);
    const home = join(dir, 'home');
    const { token } = await prepareBenchStore(home, { name: MODEL, experiment: 'bench-pacs', threads: 2 });
    const run = String(Date.now() % 1e9);
    const variants = o.dicomWorkers.map((w) => ({ workers: w, name: o.dicomWorkers.length > 1 ? `secondread w=${w}` : 'secondread' }));
    // Every server gets its own instances: a resent instance would answer the study it made before.
    const files = new Map<string, Buffer[]>();
    for (const s of o.syntaxes)
      for (const [v, variant] of variants.entries())
        files.set(`${s}:${variant.name}`, await instances(o.size, s, o.count, `${run}${o.syntaxes.indexOf(s)}${v}`));

    const servers: { name: string; port: number }[] = [];
    for (const variant of variants) {
      const port = await freePort();
      const serve = startProcess(process.execPath, ['bin/secondread.js', 'serve', '--port', String(port), '--preload', `${MODEL}@production`], {
        ...process.env,
        SECONDREAD_HOME: home,
        SECONDREAD_DEID_KEY: 'b'.repeat(64),
        SECONDREAD_DICOM_WORKERS: String(variant.workers),
        LOG_LEVEL: 'warn',
      });
      stops.push(() => stopProcess(serve.child));
      await waitFor(`http://127.0.0.1:${port}/readyz`, serve.child, serve.log);
      servers.push({ name: variant.name, port });
    }
    const orthanc = await startOrthanc();
    stops.push(() => orthanc.stop());

    const rows: Row[] = [];
    for (const s of o.syntaxes) {
      // Warm-up: one instance each (codec instantiation, worker threads, model session, Orthanc's first write); not counted.
      await ingest(`${orthanc.dicomweb}/studies`, {}, await instances(o.size, s, 1, `${run}8${o.syntaxes.indexOf(s)}`), 1);
      for (const [v, server] of servers.entries())
        await ingest(
          `http://127.0.0.1:${server.port}/dicomweb/studies`,
          { authorization: `Bearer ${token}` },
          await instances(o.size, s, 1, `${run}9${o.syntaxes.indexOf(s)}${v}`),
          1,
        );
      const theirs = await ingest(`${orthanc.dicomweb}/studies`, {}, files.get(`${s}:${servers[0]!.name}`)!, o.concurrency);
      if (theirs.failures.length) console.error(`Orthanc refused ${theirs.failures.length} (${s}): ${theirs.failures[0]}`);
      for (const server of servers) {
        const ours = await ingest(
          `http://127.0.0.1:${server.port}/dicomweb/studies`,
          { authorization: `Bearer ${token}` },
          files.get(`${s}:${server.name}`)!,
          o.concurrency,
        );
        if (ours.failures.length) console.error(`${server.name} refused ${ours.failures.length} (${s}): ${ours.failures[0]}`);
        rows.push(row(s, server.name, ours));
      }
      rows.push(row(s, 'Orthanc', theirs));
    }

    if (o.json) {
      console.log(JSON.stringify({ ...o, rows }, null, 2));
      return;
    }
    console.log(`STOW-RS ingest, ${o.count} × ${o.size}² 16-bit CXR per syntax, ${o.concurrency} requests in flight, one instance per request`);
    console.log('secondread: parse, decode, de-identify, render, store, model read (vit-small), record · Orthanc: parse and store');
    console.log(
      `${'syntax'.padEnd(14)}${'server'.padEnd(16)}${'inst/s'.padStart(8)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}${'failed'.padStart(8)}${'ours/Orthanc'.padStart(14)}`,
    );
    for (const s of o.syntaxes) {
      const theirs = rows.find((r) => r.syntax === s && r.server === 'Orthanc')!;
      for (const r of rows.filter((x) => x.syntax === s))
        console.log(
          `${r.syntax.padEnd(14)}${r.server.padEnd(16)}${r.instancesPerSecond.toFixed(2).padStart(8)}${r.p50Ms.toFixed(0).padStart(9)}${r.p95Ms.toFixed(0).padStart(9)}${String(r.failures).padStart(8)}${(r !== theirs ? `${(r.instancesPerSecond / theirs.instancesPerSecond).toFixed(2)}×` : '').padStart(14)}`,
        );
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
