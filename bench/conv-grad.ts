// `npm run bench -- conv-grad [options]`: the training step (forward, backward, AdamW) of cnn-small (batch 64, 64×64)
// and of det-nano (DetectionStepper: forward, in-graph assigner, backward, update; batch 16, 256 px), built with each Conv weight-gradient
// formulation of --weight-grad in turn (default 'auto'; 'im2col' is the formulation before 2026-12-06), in one process
// and alternating, so that before/after ratios are measured side by side on a shared machine. --rounds R repeats the
// whole set; --profile prints ONNX Runtime's per-op profile of the timed steps only (a session's first runs allocate
// and are several times slower, so the warm-up runs are left out). Prints ms/step, images/s, the process's CPU time
// per timed step and the load average. --no-spin lets ORT's threads sleep instead of busy-waiting, so that the CPU
// time per step measures the work (on a loaded machine wall times swing several-fold from one minute to the next).
// Flags: USAGE below (`npm run bench -- conv-grad --help`).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { type ConvWeightGradStrategy, setConvWeightGradStrategy } from '../src/engine/autodiff/rules/conv.js';
import { adamw, latestProfile, summarizeProfile, TrainSession } from '../src/engine/index.js';
import { cnnClassifier, cnnConfig } from '../src/models/cnn.js';
import { detectorConfig, detectorModel } from '../src/models/detector.js';
import { DetectionStepper } from '../src/training/detect-step.js';
import { benchArgs, refuse } from './support/args.js';

interface Options {
  models: string[];
  steps: number;
  warmup: number;
  threads: number;
  profile: boolean;
  cnnBatch: number;
  detBatch: number;
  detSize: number;
  rounds: number;
  strategies: ConvWeightGradStrategy[];
  spin: boolean;
}

const USAGE = `usage: npm run bench -- conv-grad [--models cnn-small,det-nano] [--weight-grad im2col,auto] [--rounds 1] [--steps 5]
                                  [--warmup 2] [--threads 2] [--cnn-batch 64] [--det-batch 16] [--det-size 256] [--profile] [--no-spin]`;

function parseArgs(args: string[]): Options {
  const defaults: Options = {
    models: ['cnn-small', 'det-nano'],
    steps: 5,
    warmup: 2,
    threads: 2,
    profile: false,
    cnnBatch: 64,
    detBatch: 16,
    detSize: 256,
    rounds: 1,
    strategies: ['auto'],
    spin: true,
  };
  return benchArgs(
    args,
    USAGE,
    defaults,
    {
      '--models': (o, v) => (o.models = v.list()),
      '--steps': (o, v) => (o.steps = v.int(1)),
      '--warmup': (o, v) => (o.warmup = v.int()),
      '--threads': (o, v) => (o.threads = v.int()),
      '--profile': (o) => (o.profile = true),
      '--no-spin': (o) => (o.spin = false),
      '--cnn-batch': (o, v) => (o.cnnBatch = v.int(1)),
      '--det-batch': (o, v) => (o.detBatch = v.int(1)),
      '--det-size': (o, v) => (o.detSize = v.int()),
      '--rounds': (o, v) => (o.rounds = v.int(1)),
      '--weight-grad': (o, v) => (o.strategies = v.list() as ConvWeightGradStrategy[]),
    },
    (o) => {
      const bad = o.strategies.find((s) => !['auto', 'im2col', 'batched'].includes(s));
      if (bad) refuse(`--weight-grad: unknown formulation '${bad}' (auto, im2col, batched)`, USAGE);
      if (o.models.some((m) => m !== 'cnn-small' && m !== 'det-nano')) refuse('--models: cnn-small and/or det-nano', USAGE);
    },
  );
}

/** Wall and process CPU milliseconds per timed step. */
interface Timing {
  ms: number;
  cpuMs: number;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

async function cnnStep(o: Options, prefix?: string): Promise<Timing> {
  const cfg = cnnConfig('cnn-small');
  const execution = { intraOpThreads: o.threads, enableProfiling: prefix !== undefined, profilePrefix: prefix, allowSpinning: o.spin };
  const session = await TrainSession.create(cnnClassifier(cfg), { optimizer: adamw({ weightDecay: 0.05 }), lr: 1e-3, execution });
  const next = lcg(1);
  const n = o.cnnBatch;
  const images = new Float32Array(n * cfg.imageSize ** 2).map(() => next() * 2 - 1);
  const labels = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(next() * cfg.numClasses)));
  const batch = { images: { data: images, shape: [n, 1, cfg.imageSize, cfg.imageSize] }, labels: { data: labels, shape: [n] } };
  for (let i = 0; i < o.warmup; i++) await session.step(batch);
  const [t0, c0] = [performance.now(), process.cpuUsage()];
  for (let i = 0; i < o.steps; i++) await session.step(batch);
  const ms = (performance.now() - t0) / o.steps;
  const cu = process.cpuUsage(c0);
  const cpuMs = (cu.user + cu.system) / 1000 / o.steps;
  await session.release();
  return { ms, cpuMs };
}

async function detStep(o: Options, prefix?: string): Promise<Timing> {
  const cfg = detectorConfig('det-nano', { imageSize: o.detSize });
  const execution = { intraOpThreads: o.threads, enableProfiling: prefix !== undefined, profilePrefix: prefix, allowSpinning: o.spin };
  const session = await TrainSession.create(detectorModel(cfg), { optimizer: adamw({ weightDecay: 5e-4 }), lr: 1e-4, execution });
  const stepper = new DetectionStepper(session, cfg);
  const next = lcg(1);
  const n = o.detBatch;
  const S = cfg.imageSize;
  const images = new Float32Array(n * cfg.inChannels * S * S).map(() => next() * 2 - 1);
  const truths = Array.from({ length: n }, () => {
    const [w, h] = [(0.05 + 0.25 * next()) * S, (0.05 + 0.25 * next()) * S];
    const [x, y] = [next() * (S - w), next() * (S - h)];
    return { boxes: [x, y, x + w, y + h], labels: [Math.floor(next() * cfg.numClasses)] };
  });
  const batch = { images, truths };
  for (let i = 0; i < o.warmup; i++) await stepper.step(batch);
  const [t0, c0] = [performance.now(), process.cpuUsage()];
  for (let i = 0; i < o.steps; i++) await stepper.step(batch);
  const ms = (performance.now() - t0) / o.steps;
  const cu = process.cpuUsage(c0);
  const cpuMs = (cu.user + cu.system) / 1000 / o.steps;
  await session.release();
  return { ms, cpuMs };
}

interface TraceEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string };
}

/** The profile of the timed steps only: ORT's first runs of a session allocate (page faults) and are not typical. */
async function printProfile(path: string, warmup: number, runs: number): Promise<void> {
  const events = JSON.parse(await readFile(path, 'utf8')) as TraceEvent[];
  const starts = events
    .filter((e) => e.cat === 'Session' && e.name === 'model_run')
    .map((e) => e.ts ?? 0)
    .sort((a, b) => a - b);
  const from = starts[warmup] ?? 0;
  const p = summarizeProfile(events.filter((e) => (e.ts ?? 0) >= from) as Parameters<typeof summarizeProfile>[0]);
  console.log(
    `  profile of the timed steps: ${(p.kernelMs / runs).toFixed(1)} ms kernel time per step; ${p.byPhase.map((x) => `${x.key} ${(x.share * 100).toFixed(0)}%`).join(', ')}`,
  );
  for (const op of p.byOp.slice(0, 14))
    console.log(
      `    ${op.key.padEnd(26)} ${(op.totalMs / runs).toFixed(1).padStart(8)} ms/step ${(op.share * 100).toFixed(1).padStart(5)}%  ${op.calls / runs} calls/step`,
    );
  console.log('  top nodes:');
  for (const n of p.byNode.slice(0, 16)) console.log(`    ${n.key.padEnd(70)} ${(n.totalMs / runs).toFixed(1).padStart(8)} ms/step`);
}

export async function main(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const dir = await mkdtemp(join(tmpdir(), 'bench-conv-grad-'));
  try {
    for (let r = 0; r < o.rounds; r++) {
      for (const model of o.models) {
        for (const strategy of o.strategies) {
          setConvWeightGradStrategy(strategy);
          const prefix = o.profile ? join(dir, `${model}-${strategy}-${r}`) : undefined;
          const t = model === 'cnn-small' ? await cnnStep(o, prefix) : await detStep(o, prefix);
          const batch = model === 'cnn-small' ? o.cnnBatch : o.detBatch;
          console.log(
            `${model} [${strategy}]: ${t.ms.toFixed(0)} ms/step (${((1000 * batch) / t.ms).toFixed(1)} images/s, batch ${batch}), ` +
              `process CPU ${t.cpuMs.toFixed(0)} ms/step; load ${loadavg()[0]!.toFixed(2)}${o.spin ? '' : ' (no spinning)'}`,
          );
          if (prefix) await printProfile(await latestProfile(prefix), o.warmup, o.steps);
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
