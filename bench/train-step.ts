// `npm run bench -- train-step [options]`: the reference vit-small (64×64×1, batch 32, AdamW) trained by the engine
// (one ONNX Runtime session per step) and by PyTorch eager on the same machine in the same run, plus the engine's
// exported inference model vs PyTorch eager eval at batch 1 and 32. Prints images/s side by side with ratios.
//
// Fairness: both use 2 intra-op threads (--threads), float32, identical architecture and batch; PyTorch is
// Debian's python3-torch with libopenblas0-pthread (/usr/bin/python3). This machine is shared, so --rounds R runs
// everything R times, alternating engine and PyTorch, and reports each side's best round.
//
// Distance to the hardware: the model's forward FLOPs are counted from its graph (engine/flops.ts: MatMul, Gemm and
// Conv nodes with their shapes); a training step is taken as 3 × forward (forward, and a backward of about twice
// its cost), so achieved GFLOP/s = 3 × forward FLOPs per image × images/s. The peak it is compared with is measured
// in the same run: one large float32 MatMul (--gemm-size n: n×n by n×n) in an ONNX Runtime session on the same
// threads, the best of several runs.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import ort from 'onnxruntime-node';

import { adamw, type Batch, exportInferenceModel, type FlopCount, forwardFlops, Graph, latestProfile, readProfile, TrainSession } from '../src/engine/index.js';
import { vitClassifier, type ViTConfig, vitConfig } from '../src/models/vit.js';
import { modelRecipe } from '../src/training/options.js';
import { benchArgs } from './support/args.js';

interface Options {
  model: string;
  steps: number;
  warmup: number;
  batch: number;
  threads: number;
  rounds: number;
  evalImages: number;
  torch: boolean;
  profile: boolean;
  json: boolean;
  /** Train the architecture of the model's training recipe (what `secondread train --model X` trains). */
  recipe: boolean;
  gemmSize: number;
}

const USAGE = `usage: npm run bench -- train-step [--model vit-small] [--recipe] [--steps 20] [--warmup 3] [--batch 32] [--threads 2]
                                    [--rounds 1] [--eval-images 256] [--gemm-size 2048] [--no-torch] [--profile] [--json]`;

function parseArgs(args: string[]): Options {
  const defaults: Options = {
    model: 'vit-small',
    steps: 20,
    warmup: 3,
    batch: 32,
    threads: 2,
    rounds: 1,
    evalImages: 256,
    torch: true,
    profile: false,
    json: false,
    recipe: false,
    gemmSize: 2048,
  };
  return benchArgs(args, USAGE, defaults, {
    '--model': (o, v) => (o.model = v.text()),
    '--steps': (o, v) => (o.steps = v.int(1)),
    '--warmup': (o, v) => (o.warmup = v.int()),
    '--batch': (o, v) => (o.batch = v.int(1)),
    '--threads': (o, v) => (o.threads = v.int()),
    '--rounds': (o, v) => (o.rounds = Math.max(1, v.int())),
    '--eval-images': (o, v) => (o.evalImages = v.int()),
    '--no-torch': (o) => (o.torch = false),
    '--profile': (o) => (o.profile = true),
    '--json': (o) => (o.json = true),
    '--recipe': (o) => (o.recipe = true),
    '--gemm-size': (o, v) => (o.gemmSize = v.int(64)),
  });
}

/** Deterministic pseudo-random batch (the content does not matter for speed, only its shape). */
function randomBatch(cfg: ViTConfig, n: number, seed: number): Batch {
  let s = seed >>> 0;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const images = new Float32Array(n * cfg.inChannels * cfg.imageSize * cfg.imageSize).map(() => next() * 2 - 1);
  const labels = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(next() * cfg.numClasses)));
  return { images: { data: images, shape: [n, cfg.inChannels, cfg.imageSize, cfg.imageSize] }, labels: { data: labels, shape: [n] } };
}

interface EvalFigure {
  batch: number;
  images_per_s: number;
}
interface Figures {
  train: number;
  eval: EvalFigure[];
}

async function engineTrain(cfg: ViTConfig, o: Options, profilePrefix?: string): Promise<{ imagesPerS: number; session: TrainSession }> {
  const session = await TrainSession.create(vitClassifier(cfg), {
    optimizer: adamw({ weightDecay: 0.05 }),
    lr: 1e-4,
    execution: { intraOpThreads: o.threads, enableProfiling: profilePrefix !== undefined, profilePrefix },
  });
  const batch = randomBatch(cfg, o.batch, 1);
  for (let i = 0; i < o.warmup; i++) await session.step(batch);
  const t0 = performance.now();
  for (let i = 0; i < o.steps; i++) await session.step(batch);
  const secs = (performance.now() - t0) / 1000;
  return { imagesPerS: (o.batch * o.steps) / secs, session };
}

async function engineEval(cfg: ViTConfig, session: TrainSession, o: Options): Promise<EvalFigure[]> {
  const exported = exportInferenceModel(vitClassifier(cfg), { weights: session.stateTensors(['param', 'buffer']) });
  const served = await ort.InferenceSession.create(exported.bytes, {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const out: EvalFigure[] = [];
  for (const b of [1, 32]) {
    const { images } = randomBatch(cfg, b, 2);
    const feed = { images: new ort.Tensor('float32', images!.data as Float32Array, [...images!.shape]) };
    const runs = Math.max(3, Math.floor(o.evalImages / b));
    for (let i = 0; i < 2; i++) await served.run(feed);
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await served.run(feed);
    out.push({ batch: b, images_per_s: (b * runs) / ((performance.now() - t0) / 1000) });
  }
  await served.release();
  return out;
}

/** GFLOP/s of one n×n by n×n float32 MatMul in ONNX Runtime on `threads` threads: the best of several runs. */
export async function gemmPeak(n: number, threads: number): Promise<number> {
  const g = new Graph('gemm-peak', { mode: 'eval' });
  g.output(g.op('MatMul', [g.input('a', 'float32', [n, n]), g.input('b', 'float32', [n, n])]), 'c');
  const session = await ort.InferenceSession.create(g.toModelProto(), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const data = (seed: number) => new Float32Array(n * n).map((_, i) => (((i * 2654435761 + seed) >>> 0) % 1000) / 1000 - 0.5);
  const feed = { a: new ort.Tensor('float32', data(1), [n, n]), b: new ort.Tensor('float32', data(2), [n, n]) };
  await session.run(feed);
  let best = Infinity;
  const start = performance.now();
  for (let i = 0; i < 20 && (i < 3 || performance.now() - start < 2000); i++) {
    const t0 = performance.now();
    await session.run(feed);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  await session.release();
  return (2 * n ** 3) / best / 1e9;
}

/**
 * Runs a peer script (Debian's /usr/bin/python3) and returns the JSON object on its last stdout line; `echo` also
 * passes its stderr (progress lines) through as it comes.
 */
export async function runPeer<T>(args: string[], opts: { echo?: boolean } = {}): Promise<T> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const p = spawn('/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (opts.echo) process.stderr.write(d);
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`PyTorch peer failed (exit ${code}): ${err.trim()}`))));
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as T;
}

async function torchPeer(cfg: ViTConfig, o: Options, dir: string): Promise<Figures & { torch: string }> {
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(cfg));
  const script = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'vit_torch.py');
  const args = [script, 'bench', '--config', configPath, '--batch', String(o.batch), '--steps', String(o.steps), '--warmup', String(o.warmup)];
  args.push('--threads', String(o.threads), '--eval-batches', '1,32', '--eval-images', String(o.evalImages));
  const r = await runPeer<{ torch: string; train: { images_per_s: number }; eval: EvalFigure[] }>(args);
  return { torch: r.torch, train: r.train.images_per_s, eval: r.eval };
}

const fmt = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(1)).padStart(8);
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '-' : `${(a / b).toFixed(2)}×`).padStart(6);

export async function main(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const arch = o.recipe ? modelRecipe(o.model).architecture : undefined;
  const cfg = vitConfig(o.model, arch ? { stemStrides: [...arch.stemStrides], stemChannels: [...arch.stemChannels], patchSize: arch.patchSize } : {});
  const flops: FlopCount = forwardFlops(vitClassifier(cfg));
  let peak = 0;
  const dir = await mkdtemp(join(tmpdir(), 'bench-train-step-'));
  const best: { engine?: Figures; torch?: Figures } = {};
  let torchVersion = '';
  const keepBest = (side: 'engine' | 'torch', f: Figures): void => {
    const cur = best[side];
    best[side] = {
      train: Math.max(cur?.train ?? 0, f.train),
      eval: f.eval.map((e, i) => ({ batch: e.batch, images_per_s: Math.max(cur?.eval[i]?.images_per_s ?? 0, e.images_per_s) })),
    };
  };
  try {
    for (let r = 0; r < o.rounds; r++) {
      const progress = (what: string): void => {
        if (!o.json) process.stderr.write(`round ${r + 1}/${o.rounds}: ${what}\n`);
      };
      progress(`GEMM peak: ONNX Runtime MatMul ${o.gemmSize}×${o.gemmSize}`);
      peak = Math.max(peak, await gemmPeak(o.gemmSize, o.threads));
      progress('engine training + exported-model inference');
      const prefix = o.profile && r === 0 ? join(dir, 'ort-profile') : undefined;
      const { imagesPerS, session } = await engineTrain(cfg, o, prefix);
      const evalFigures = await engineEval(cfg, session, o);
      await session.release();
      keepBest('engine', { train: imagesPerS, eval: evalFigures });
      if (prefix) await printProfile(await latestProfile(prefix), o.steps + o.warmup);
      if (o.torch) {
        progress('PyTorch training + eager inference');
        const t = await torchPeer(cfg, o, dir);
        torchVersion = t.torch;
        keepBest('torch', t);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const e = best.engine as Figures;
  const t = best.torch;
  const gflops = (imagesPerS: number, factor: number) => (factor * flops.total * imagesPerS) / 1e9;
  const compute = {
    forward_gflop_per_image: flops.total / 1e9,
    forward_by_op: Object.fromEntries(Object.entries(flops.byOp).map(([k, v]) => [k, v / 1e9])),
    gemm_peak_gflops: peak,
    gemm_size: o.gemmSize,
    train_gflops: gflops(e.train, 3),
    train_share_of_peak: gflops(e.train, 3) / peak,
    eval: e.eval.map((x) => ({ batch: x.batch, gflops: gflops(x.images_per_s, 1), share_of_peak: gflops(x.images_per_s, 1) / peak })),
  };
  const result = {
    model: cfg.name,
    batch: o.batch,
    steps: o.steps,
    threads: o.threads,
    rounds: o.rounds,
    torch: torchVersion || undefined,
    model_config: { stemStrides: cfg.stemStrides, stemChannels: cfg.stemChannels, patchSize: cfg.patchSize },
    compute,
    engine: e,
    pytorch: t,
    ratios: t
      ? { train: e.train / t.train, eval: e.eval.map((x, i) => ({ batch: x.batch, ratio: x.images_per_s / (t.eval[i]?.images_per_s ?? NaN) })) }
      : undefined,
  };
  if (o.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(
    `${cfg.name}${o.recipe ? ' (recipe architecture)' : ''}: batch ${o.batch}, ${o.steps} timed steps after ${o.warmup} warm-up, ${o.threads} threads, best of ${o.rounds} round(s)`,
  );
  console.log(`                              engine   pytorch   ratio   goal`);
  console.log(`train (AdamW) images/s     ${fmt(e.train)}  ${fmt(t?.train)}   ${ratio(e.train, t?.train)}   ≥1.5× (floor 1.0×)`);
  for (const [i, x] of e.eval.entries()) {
    const goal = x.batch === 32 ? '≥3× vs eager' : '';
    console.log(
      `inference b${String(x.batch).padEnd(2)} images/s     ${fmt(x.images_per_s)}  ${fmt(t?.eval[i]?.images_per_s)}   ${ratio(x.images_per_s, t?.eval[i]?.images_per_s)}   ${goal}`,
    );
  }
  if (torchVersion) console.log(`(PyTorch ${torchVersion}, eager, torch.set_num_threads(${o.threads}); engine inference = exported ONNX in onnxruntime-node)`);
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  const ops = Object.entries(flops.byOp)
    .map(([k, v]) => `${k} ${(v / 1e9).toPrecision(3)}`)
    .join(', ');
  console.log(
    `\ncompute: ${cfg.name} (stem ${cfg.stemStrides.join(',')}, patch ${cfg.patchSize}) forward ${(flops.total / 1e9).toFixed(3)} GFLOP/image (${ops}); a training step ≈ 3 × forward`,
  );
  console.log(`GEMM peak (ONNX Runtime MatMul ${o.gemmSize}×${o.gemmSize}, ${o.threads} threads, same run)  ${peak.toFixed(1)} GFLOP/s`);
  console.log(`engine train achieved       ${compute.train_gflops.toFixed(1).padStart(8)} GFLOP/s  ${pct(compute.train_share_of_peak)} of peak`);
  for (const x of compute.eval)
    console.log(`engine inference b${String(x.batch).padEnd(2)} achieved ${x.gflops.toFixed(1).padStart(8)} GFLOP/s  ${pct(x.share_of_peak)} of peak`);
}

async function printProfile(path: string, runs: number): Promise<void> {
  const p = await readProfile(path);
  console.log(`\nONNX Runtime profile (${runs} training steps, ${(p.kernelMs / runs).toFixed(1)} ms kernel time per step): top op types`);
  for (const op of p.byOp.slice(0, 15)) {
    console.log(
      `  ${op.key.padEnd(28)} ${(op.totalMs / runs).toFixed(2).padStart(8)} ms/step  ${(op.share * 100).toFixed(1).padStart(5)}%  ${op.calls / runs} calls/step`,
    );
  }
  console.log(`phases: ${p.byPhase.map((x) => `${x.key} ${(x.totalMs / runs).toFixed(1)} ms (${(x.share * 100).toFixed(0)}%)`).join(', ')}`);
  console.log('top nodes:');
  for (const n of p.byNode.slice(0, 15)) console.log(`  ${n.key.padEnd(60)} ${(n.totalMs / runs).toFixed(2).padStart(8)} ms/step`);
  console.log('');
}
