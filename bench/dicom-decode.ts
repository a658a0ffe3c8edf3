// `npm run bench -- dicom-decode [--size 2048] [--repeats 5] [--json]`: decode time of one
// size×size 16-bit (12 bits stored) chest-X-ray-like image per transfer syntax — uncompressed, RLE,
// JPEG lossless SV1, JPEG-LS, JPEG 2000 — ours (in process: parse + decode to stored values + window
// to 8-bit) side by side with DCMTK's command-line decoders on the same files (dcmdrle, dcmdjpeg,
// dcmdjpls; dcmconv for the uncompressed file; DCMTK has no JPEG 2000 decoder), and DICOM → model
// tensor (224²). DCMTK's figures include starting the process and writing its output, so the
// `dcmconv` copy of the uncompressed file is printed as the floor any DCMTK command pays.
// Medians of --repeats runs, ours and DCMTK alternating run by run, in one run on one machine; the ratios
// are what to compare.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { decodeDicom } from '../src/data/dicom/decode.js';
import { chestLike, cxrDicom } from '../src/data/dicom/testing.js';
import type { WritableSyntax } from '../src/data/dicom/write.js';
import { preprocessImage } from '../src/data/images/preprocess.js';
import { benchArgs, refuse } from './support/args.js';

const USAGE = 'usage: npm run bench -- dicom-decode [--size 2048] [--repeats 5] [--json]';

interface Row {
  syntax: string;
  bytes: number;
  oursMs: number;
  dcmtkMs: number | null;
  ratio: number | null;
}

export async function main(argv: string[]): Promise<void> {
  const opt = benchArgs(
    argv,
    USAGE,
    { size: 2048, repeats: 5, json: false },
    {
      '--size': (o, v) => (o.size = v.int(64)),
      '--repeats': (o, v) => (o.repeats = v.int(1)),
      '--json': (o) => (o.json = true),
    },
    (o) => {
      if (o.size > 8192) refuse('--size: at most 8192', USAGE);
    },
  );
  const haveDcmtk = spawnSync('dcmdump', ['--version']).status === 0;
  if (!haveDcmtk) console.error('note: DCMTK is not installed (apt-get install dcmtk): only our figures are printed');
  const dir = mkdtempSync(join(tmpdir(), 'sr-bench-dicom-'));
  try {
    const image = chestLike(opt.size);
    const files: [string, Uint8Array, string[] | null][] = [];
    const add = async (name: string, syntax: WritableSyntax, dcmtk: string[] | null) => files.push([name, await cxrDicom(image, syntax), dcmtk]);
    await add('uncompressed (explicit VR LE)', 'explicit-le', ['dcmconv', '+te']);
    await add('RLE lossless', 'rle', ['dcmdrle']);
    await add('JPEG-LS lossless', 'jpeg-ls', ['dcmdjpls']);
    await add('JPEG 2000 lossless', 'jpeg2000', null);
    if (haveDcmtk) {
      const src = join(dir, 'source.dcm');
      writeFileSync(src, files[0]![1]);
      const jl = join(dir, 'jl.dcm');
      if (spawnSync('dcmcjpeg', ['+e1', src, jl]).status === 0) files.splice(2, 0, ['JPEG lossless SV1 (DCMTK-encoded)', readFileSync(jl), ['dcmdjpeg']]);
    }
    const rows: Row[] = [];
    for (const [name, bytes, dcmtk] of files) {
      await decodeDicom(bytes); // codec warm-up (WebAssembly instantiation happens once per process)
      const file = join(dir, 'in.dcm');
      writeFileSync(file, bytes);
      const [cmd, ...flags] = dcmtk ?? [];
      const runDcmtk =
        haveDcmtk && cmd
          ? () => {
              const r = spawnSync(cmd, [...flags, file, join(dir, 'out.dcm')]);
              if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
            }
          : undefined;
      // Ours and DCMTK alternate, one run each per round, so a change in the machine's load (other
      // processes on a shared 2-core machine) falls on both sides alike.
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < opt.repeats; i++) {
        ours.push(...(await times(1, () => decodeDicom(bytes))));
        if (runDcmtk) theirs.push(...(await times(1, async () => runDcmtk())));
      }
      const oursMs = median(ours);
      const dcmtkMs = runDcmtk ? median(theirs) : null;
      rows.push({ syntax: name, bytes: bytes.length, oursMs, dcmtkMs, ratio: dcmtkMs ? oursMs / dcmtkMs : null });
    }
    const tensorMs = median(await times(opt.repeats, () => preprocessImage(files[1]![1], 224)));
    if (opt.json) {
      console.log(JSON.stringify({ size: opt.size, repeats: opt.repeats, rows, dicomToTensor224Ms: tensorMs }, null, 2));
      return;
    }
    console.log(`DICOM decode, ${opt.size}×${opt.size} 16-bit (12 stored), median of ${opt.repeats} (ours in process; DCMTK command line)`);
    console.log(`${'syntax'.padEnd(36)}${'bytes'.padStart(11)}${'ours ms'.padStart(10)}${'DCMTK ms'.padStart(10)}${'ours/DCMTK'.padStart(12)}`);
    for (const r of rows)
      console.log(
        `${r.syntax.padEnd(36)}${String(r.bytes).padStart(11)}${r.oursMs.toFixed(1).padStart(10)}${(r.dcmtkMs?.toFixed(1) ?? '—').padStart(10)}${(r.ratio ? `${r.ratio.toFixed(2)}×` : '—').padStart(12)}`,
      );
    console.log(`DICOM (RLE) → 224² model tensor: ${tensorMs.toFixed(1)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function times(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    out.push(performance.now() - t);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
