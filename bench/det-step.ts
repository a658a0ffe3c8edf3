// `npm run bench -- det-step [options]`: det-nano trained by the engine and by PyTorch on the same machine in the same
// run, at each input size (default 256 and 512 px, batch 16), plus inference of the engine's export in ONNX Runtime
// vs PyTorch eager at batch 1 and 8. Prints images/s side by side with ratios, and the engine's achieved GFLOP/s
// against a GEMM peak measured in the same run.
//
// What a training step is, on both sides: YOLOv8's — a training-mode forward, the task-aligned assigner on its
// predictions, the loss, backward and AdamW on random images with `--boxes` random boxes each. The engine's step is
// DetectionStepper's (src/training/detect-step.ts): one ONNX Runtime run of forward, in-graph assigner, loss,
// backward and AdamW (one forward per step, as PyTorch, which reuses its autograd forward); PyTorch is
// bench/peers/detector_torch.py `bench` (Ultralytics' modules, v8DetectionLoss and a transcription of its
// TaskAlignedAssigner), float32, torch.set_num_threads(--threads), Debian's python3-torch.
// Inference: the engine's exported model (boxes decoded and per-class NonMaxSuppression inside the graph,
// BatchNorm folded) in onnxruntime-node vs PyTorch eager forward + box decoding + sigmoid + score threshold 0.25 (no
// NMS: torchvision is not installed; with the initial head biases almost no anchor passes 0.25, so NMS costs next to
// nothing on either side). Both sides start from the same initial head biases (Ultralytics' bias_init).
//
// Compute: forward FLOPs from the graph (engine/flops.ts: 2 × MACs of the convolutions); a training step is counted
// as 3 × forward on both sides, so achieved GFLOP/s = 3 × forward FLOPs per image × images/s. The GEMM peak is one
// n×n float32 MatMul in ONNX Runtime on the same threads, best of several runs (as bench/train-step.ts). Each goal is also printed as
// the GFLOP/s it asks of the engine (goal ratio × the peer's images/s × FLOPs per image) against the highest rate
// anything reached in the same run (the GEMM probe, the engine's or the peer's own figures): a goal that needs more
// than the machine was seen to do is out of reach for any implementation on it, not only for this engine.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import ort from 'onnxruntime-node';

import { adamw, exportInferenceModel, TrainSession } from '../src/engine/index.js';
import { type DetectorConfig, detectorConfig, detectorFlops, detectorModel } from '../src/models/detector.js';
import { DETECTION_DEFAULTS, detectorInference } from '../src/models/detector-export.js';
import { DetectionStepper } from '../src/training/detect-step.js';
import { benchArgs, refuse } from './support/args.js';
import { gemmPeak, runPeer } from './train-step.js';

interface Options {
  model: string;
  sizes: number[];
  batch: number;
  boxes: number;
  steps: number;
  warmup: number;
  threads: number;
  evalImages: number;
  torch: boolean;
  json: boolean;
  gemmSize: number;
}

const USAGE = `usage: npm run bench -- det-step [--model det-nano] [--sizes 256,512] [--batch 16] [--boxes 2] [--steps 3] [--warmup 1]
                                  [--threads 2] [--eval-images 32] [--gemm-size 1024] [--no-torch] [--json]`;

function parseArgs(args: string[]): Options {
  const defaults: Options = {
    model: 'det-nano',
    sizes: [256, 512],
    batch: 16,
    boxes: 2,
    steps: 3,
    warmup: 1,
    threads: 2,
    evalImages: 32,
    torch: true,
    json: false,
    gemmSize: 1024,
  };
  return benchArgs(
    args,
    USAGE,
    defaults,
    {
      '--model': (o, v) => (o.model = v.text()),
      '--sizes': (o, v) => (o.sizes = v.ints(1)),
      '--batch': (o, v) => (o.batch = v.int(1)),
      '--boxes': (o, v) => (o.boxes = v.int()),
      '--steps': (o, v) => (o.steps = v.int(1)),
      '--warmup': (o, v) => (o.warmup = v.int()),
      '--threads': (o, v) => (o.threads = v.int()),
      '--eval-images': (o, v) => (o.evalImages = v.int()),
      '--gemm-size': (o, v) => (o.gemmSize = v.int()),
      '--no-torch': (o) => (o.torch = false),
      '--json': (o) => (o.json = true),
    },
    (o) => {
      if (o.sizes.some((s) => s % 32 !== 0)) refuse('--sizes: multiples of 32, comma-separated', USAGE);
    },
  );
}

/** Deterministic pseudo-random numbers (content does not matter for speed, only shapes and box counts). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function randomImages(cfg: DetectorConfig, n: number, seed: number): Float32Array {
  const next = lcg(seed);
  return new Float32Array(n * cfg.inChannels * cfg.imageSize ** 2).map(() => next() * 2 - 1);
}

function randomTruths(cfg: DetectorConfig, n: number, boxes: number): { boxes: number[]; labels: number[] }[] {
  const next = lcg(7);
  const S = cfg.imageSize;
  return Array.from({ length: n }, () => {
    const out = { boxes: [] as number[], labels: [] as number[] };
    for (let k = 0; k < boxes; k++) {
      const [w, h] = [(0.05 + 0.25 * next()) * S, (0.05 + 0.25 * next()) * S];
      const [x, y] = [next() * (S - w), next() * (S - h)];
      out.boxes.push(x, y, x + w, y + h);
      out.labels.push(Math.floor(next() * cfg.numClasses));
    }
    return out;
  });
}

interface EvalFigure {
  batch: number;
  images_per_s: number;
}
interface Figures {
  train: number;
  eval: EvalFigure[];
}

async function engine(cfg: DetectorConfig, o: Options): Promise<Figures> {
  const execution = { intraOpThreads: o.threads };
  const session = await TrainSession.create(detectorModel(cfg), { optimizer: adamw({ weightDecay: 5e-4 }), lr: 1e-4, execution });
  const stepper = new DetectionStepper(session, cfg);
  const batch = { images: randomImages(cfg, o.batch, 1), truths: randomTruths(cfg, o.batch, o.boxes) };
  for (let i = 0; i < o.warmup; i++) await stepper.step(batch);
  const t0 = performance.now();
  for (let i = 0; i < o.steps; i++) await stepper.step(batch);
  const train = (o.batch * o.steps) / ((performance.now() - t0) / 1000);
  // The export from the initial weights: the same starting head biases as the PyTorch peer's bias_init.
  const fresh = await TrainSession.create(detectorModel(cfg), { optimizer: adamw({ weightDecay: 0 }), lr: 0 });
  const exported = exportInferenceModel(detectorInference(cfg, DETECTION_DEFAULTS), { weights: fresh.stateTensors(['param', 'buffer']) });
  await Promise.all([session.release(), fresh.release()]);
  const served = await ort.InferenceSession.create(exported.bytes, {
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const evals: EvalFigure[] = [];
  for (const b of [1, 8]) {
    const feed = { images: new ort.Tensor('float32', randomImages(cfg, b, 2), [b, cfg.inChannels, cfg.imageSize, cfg.imageSize]) };
    const runs = Math.max(3, Math.floor(o.evalImages / b));
    for (let i = 0; i < 2; i++) await served.run(feed);
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await served.run(feed);
    evals.push({ batch: b, images_per_s: (b * runs) / ((performance.now() - t0) / 1000) });
  }
  await served.release();
  return { train, eval: evals };
}

async function torchPeer(cfg: DetectorConfig, o: Options, dir: string): Promise<Figures & { torch: string }> {
  const configPath = join(dir, `config-${cfg.imageSize}.json`);
  await writeFile(configPath, JSON.stringify(cfg));
  const script = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'detector_torch.py');
  const args = [script, 'bench', '--config', configPath, '--batch', String(o.batch), '--boxes', String(o.boxes), '--steps', String(o.steps)];
  args.push('--warmup', String(o.warmup), '--threads', String(o.threads), '--eval-batches', '1,8', '--eval-images', String(o.evalImages));
  const r = await runPeer<{ torch: string; train: { images_per_s: number }; eval: EvalFigure[] }>(args);
  return { torch: r.torch, train: r.train.images_per_s, eval: r.eval };
}

const fmt = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(2)).padStart(8);
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '-' : `${(a / b).toFixed(2)}×`).padStart(6);

export async function main(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const dir = await mkdtemp(join(tmpdir(), 'bench-det-step-'));
  const log = (what: string): void => {
    if (!o.json) process.stderr.write(`${what}\n`);
  };
  const results = [];
  let torchVersion = '';
  try {
    log(`GEMM peak: ONNX Runtime MatMul ${o.gemmSize}×${o.gemmSize}, ${o.threads} threads`);
    const peak = await gemmPeak(o.gemmSize, o.threads);
    for (const size of o.sizes) {
      const cfg = detectorConfig(o.model, { imageSize: size });
      const forward = detectorFlops(cfg);
      log(`${cfg.name} ${size} px: engine training + exported-model inference`);
      const e = await engine(cfg, o);
      let t: Figures | undefined;
      if (o.torch) {
        log(`${cfg.name} ${size} px: PyTorch training + eager inference`);
        const r = await torchPeer(cfg, o, dir);
        torchVersion = r.torch;
        t = r;
      }
      const gflops = (ips: number, factor: number) => (factor * forward * ips) / 1e9;
      const rates = [peak, gflops(e.train, 3), ...e.eval.map((x) => gflops(x.images_per_s, 1))];
      if (t) rates.push(gflops(t.train, 3), ...t.eval.map((x) => gflops(x.images_per_s, 1)));
      const ceiling = Math.max(...rates);
      results.push({
        size,
        forward_gflop_per_image: forward / 1e9,
        engine: e,
        pytorch: t,
        compute: {
          train_gflops: gflops(e.train, 3),
          train_share_of_peak: gflops(e.train, 3) / peak,
          eval: e.eval.map((x) => ({ batch: x.batch, gflops: gflops(x.images_per_s, 1), share_of_peak: gflops(x.images_per_s, 1) / peak })),
          pytorch_train_gflops: t ? gflops(t.train, 3) : undefined,
          pytorch_eval_gflops: t?.eval.map((x) => ({ batch: x.batch, gflops: gflops(x.images_per_s, 1) })),
          highest_gflops: ceiling,
          // What each goal asks of the engine, in GFLOP/s, against the highest rate anything reached in this run.
          goals: t
            ? [
                { what: 'train', ratio: 1.5, needs_gflops: gflops(1.5 * t.train, 3) },
                ...t.eval.map((x) => ({ what: `inference b${x.batch}`, ratio: 3, needs_gflops: gflops(3 * x.images_per_s, 1) })),
              ].map((g) => ({ ...g, times_highest: g.needs_gflops / ceiling }))
            : undefined,
        },
      });
    }
    const out = {
      model: o.model,
      batch: o.batch,
      boxes: o.boxes,
      steps: o.steps,
      threads: o.threads,
      torch: torchVersion || undefined,
      gemm_peak_gflops: peak,
      results,
    };
    if (o.json) {
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    console.log(`${o.model}: batch ${o.batch} (${o.boxes} boxes/image), ${o.steps} timed steps after ${o.warmup} warm-up, ${o.threads} threads`);
    console.log(`GEMM peak (ONNX Runtime MatMul ${o.gemmSize}×${o.gemmSize}, same run): ${peak.toFixed(1)} GFLOP/s`);
    for (const r of results) {
      console.log(`\n${r.size} px (forward ${r.forward_gflop_per_image.toFixed(2)} GFLOP/image)   engine   pytorch   ratio   goal`);
      console.log(`train (AdamW) images/s          ${fmt(r.engine.train)}  ${fmt(r.pytorch?.train)}   ${ratio(r.engine.train, r.pytorch?.train)}   ≥1.5×`);
      for (const [i, x] of r.engine.eval.entries())
        console.log(
          `inference b${x.batch} images/s            ${fmt(x.images_per_s)}  ${fmt(r.pytorch?.eval[i]?.images_per_s)}   ${ratio(x.images_per_s, r.pytorch?.eval[i]?.images_per_s)}   ≥3× vs eager`,
        );
      const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
      console.log(`engine train achieved  ${r.compute.train_gflops.toFixed(1)} GFLOP/s (${pct(r.compute.train_share_of_peak)} of peak; 3 × forward per image)`);
      for (const x of r.compute.eval) console.log(`engine inference b${x.batch} achieved  ${x.gflops.toFixed(1)} GFLOP/s (${pct(x.share_of_peak)} of peak)`);
      if (r.compute.pytorch_train_gflops !== undefined)
        console.log(
          `pytorch achieved  train ${r.compute.pytorch_train_gflops.toFixed(1)}, ` +
            (r.compute.pytorch_eval_gflops ?? []).map((x) => `inference b${x.batch} ${x.gflops.toFixed(1)}`).join(', ') +
            ' GFLOP/s',
        );
      for (const g of r.compute.goals ?? [])
        console.log(
          `goal ${g.what} ≥ ${g.ratio}× needs ${g.needs_gflops.toFixed(1)} GFLOP/s = ${g.times_highest.toFixed(2)}× the highest rate in this run (${r.compute.highest_gflops.toFixed(1)})`,
        );
    }
    if (torchVersion)
      console.log(`\n(PyTorch ${torchVersion}, eager, torch.set_num_threads(${o.threads}); engine inference = exported ONNX with NMS in onnxruntime-node)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
