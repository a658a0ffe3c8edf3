// `npm run bench -- det-parity --dataset <version> [--epochs N] [--run <engine run id>]`: issue 18's parity check —
// det-nano trained by PyTorch (bench/peers/detector_torch.py `train`) on the same data with the engine's recipe
// for the same epochs ends within 0.03 test mAP@0.5 of the engine's run.
//
// The data: the version's train/val/test exactly as the engine's trainer reads them (trainer.ts loadData: the
// training caches' letterboxed images, the fused reference boxes in input pixels), written raw for numpy
// (support/det-parity-data.ts). The recipe: the run's own options when --run is given (its stored params), else
// det-nano's (options.ts) — batch, AdamW lr and decay (rank ≥ 2 tensors), warm-up epochs then cosine to
// minLrRatio·lr per step, global-norm clipping, shuffled epochs without the last partial batch, the loop's box
// augmentation (crop, brightness/contrast, no flip, no rotation; the peer draws its own random numbers), the
// normalization the engine computes (pixelStats of the train images), BatchNorm momentum and eps, bias_init,
// val mAP@0.5 after every epoch (score > 0.001, per-class NMS at IoU 0.6, ≤ 100 boxes: EVAL_THRESHOLDS) with
// early stopping after `patience` epochs without improvement, and the best epoch's weights tested — as
// finalize-detect.ts does. The peer scores val with detection_metrics.py (the independent implementation); its
// test detections are scored here by the engine's own detectionReport, the function the engine's run used.
//
// With --run the engine's side is that finished run's summary (test_map50, test_map40, test_map_coco,
// test_froc_mean, epochs, train_seconds) and its wall time, as `secondread runs show` reads them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { withContext } from '../src/cli/context.js';
import { ValidationError } from '../src/core/errors.js';
import { resolveVersionRef } from '../src/data/datasets/repository.js';
import { DETECTION_CLASSES } from '../src/data/detection/types.js';
import type { DetectorConfig } from '../src/models/detector.js';
import { type RunRecord, Tracker } from '../src/tracking/index.js';
import { pixelStats } from '../src/training/data/augment.js';
import { EVAL_THRESHOLDS } from '../src/training/detect-task.js';
import { truthOf } from '../src/training/detection-data.js';
import { type DetectionReport, detectionReport } from '../src/training/metrics/detection.js';
import { parseTrainOptions } from '../src/training/options.js';
import { planFromParams, planRun, type RunPlan } from '../src/training/plan.js';
import { isDetectorConfig } from '../src/training/state.js';
import { loadData } from '../src/training/trainer.js';
import { benchArgs, refuse } from './support/args.js';
import { peerPredictions, peerRecipe, type PeerTraining, trainPeer, writePeerData } from './support/det-parity-data.js';

interface Options {
  dataset?: string;
  epochs?: number;
  run?: string;
  threads?: number;
  size?: number;
  json: boolean;
}

const USAGE = `usage: npm run bench -- det-parity --dataset <version> [--epochs N] [--run <engine run id>] [--threads 2] [--size 256] [--json]
  (--dataset defaults to the run's version; --epochs, --threads and --size to the run's, else 30, 2 and 256)`;

/** Issue 18's goal: |peer − engine| test mAP@0.5. */
const GOAL = 0.03;

function parseArgs(args: string[]): Options {
  return benchArgs(
    args,
    USAGE,
    { json: false } as Options,
    {
      '--dataset': (o, v) => (o.dataset = v.text()),
      '--epochs': (o, v) => (o.epochs = v.int(1)),
      '--run': (o, v) => (o.run = v.text()),
      '--threads': (o, v) => (o.threads = v.int(1)),
      '--size': (o, v) => (o.size = v.int(32)),
      '--json': (o) => (o.json = true),
    },
    (o) => {
      if (!o.dataset && !o.run) refuse('give --dataset (and --run to compare with an engine run)', USAGE);
      if (o.size !== undefined && o.size % 32 !== 0) refuse('--size: a multiple of 32', USAGE);
    },
  );
}

/** The engine's side: a finished detection run's figures. */
interface EngineSide {
  run: string;
  map50: number | null;
  map40: number | null;
  mapCoco: number | null;
  frocMean: number | null;
  epochs: number | null;
  bestEpoch: number | null;
  trainSeconds: number | null;
  wallSeconds: number | null;
  threads: number;
  timeBudget: boolean;
}

function engineSide(run: RunRecord, plan: RunPlan): EngineSide {
  const s = run.summary ?? {};
  const get = (k: string): number | null => (typeof s[k] === 'number' ? s[k] : null);
  return {
    run: run.id,
    map50: get('test_map50'),
    map40: get('test_map40'),
    mapCoco: get('test_map_coco'),
    frocMean: get('test_froc_mean'),
    epochs: get('epochs'),
    bestEpoch: get('best_epoch'),
    trainSeconds: get('train_seconds'),
    wallSeconds: run.endedAt ? (Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000 : null,
    threads: plan.options.threads,
    timeBudget: plan.options.timeBudget !== undefined,
  };
}

/** The plan the peer follows: the run's (checked against --dataset and --size), else det-nano's recipe for the version. */
async function resolvePlan(o: Options, tracker: Tracker, db: Parameters<typeof planRun>[0]): Promise<{ plan: RunPlan; run?: RunRecord }> {
  if (!o.run) {
    const given = parseTrainOptions({ dataset: o.dataset, task: 'detect', model: 'det-nano', size: o.size ?? 256, epochs: o.epochs });
    return { plan: await planRun(db, given) };
  }
  const run = await tracker.getRun(o.run);
  if (run.status !== 'finished') throw new ValidationError(`run ${run.id} is ${run.status}: det-parity compares with a finished run`);
  const plan = planFromParams(run.params);
  if (!isDetectorConfig(plan.model)) throw new ValidationError(`run ${run.id} trained a classifier (${plan.model.name}): det-parity compares detectors`);
  if (o.dataset) {
    const version = await resolveVersionRef(db, o.dataset);
    if (version !== plan.options.dataset) throw new ValidationError(`--dataset ${version} is not run ${run.id}'s version ${plan.options.dataset}`);
  }
  if (o.size !== undefined && o.size !== plan.model.imageSize)
    throw new ValidationError(`--size ${o.size}: run ${run.id} trained at ${plan.model.imageSize} px`);
  return { plan, run };
}

const f3 = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v.toFixed(3));
const minutes = (s: number | null | undefined): string => (s === null || s === undefined ? '-' : (s / 60).toFixed(1));

function printTable(plan: RunPlan, data: { train: number; val: number; test: number }, peer: PeerTraining, report: DetectionReport, engine?: EngineSide): void {
  const cfg = plan.model as DetectorConfig;
  const col = (s: string, w = 10): string => s.padStart(w);
  console.log(`det-parity: ${cfg.name} ${cfg.imageSize} px on ${plan.options.dataset} — ${data.train} train / ${data.val} val / ${data.test} test images`);
  console.log(`peer: PyTorch ${peer.torch}, ${peer.threads} threads, ${peer.steps_per_epoch} steps/epoch; test scored by the engine's detectionReport`);
  console.log(`\n${''.padEnd(24)}${col('pytorch')}${engine ? `${col('engine')}${col('Δ')}   goal` : ''}`);
  const row = (label: string, p: number | null, e: number | null, goal = ''): void => {
    const delta = p !== null && e !== null ? `${p - e >= 0 ? '+' : ''}${(p - e).toFixed(3)}` : '-';
    console.log(`${label.padEnd(24)}${col(f3(p))}${engine ? `${col(f3(e))}${col(delta)}   ${goal}` : ''}`);
  };
  const ok = engine && report.map50 !== null && engine.map50 !== null ? Math.abs(report.map50 - engine.map50) <= GOAL : undefined;
  row('test mAP@0.5', report.map50, engine?.map50 ?? null, ok === undefined ? `|Δ| ≤ ${GOAL}` : `|Δ| ≤ ${GOAL}: ${ok ? 'met' : 'NOT met'}`);
  row('test mAP@0.4', report.map40, engine?.map40 ?? null);
  row('test COCO mAP', report.mapCoco, engine?.mapCoco ?? null);
  row('test FROC mean', report.froc.mean, engine?.frocMean ?? null);
  const text = (label: string, p: string, e: string): void => console.log(`${label.padEnd(24)}${col(p)}${engine ? col(e) : ''}`);
  text('epochs (best)', `${peer.epochs_trained} (${peer.best_epoch})`, `${engine?.epochs ?? '-'} (${engine?.bestEpoch ?? '-'})`);
  text('train minutes', minutes(peer.train_seconds), minutes(engine?.trainSeconds));
  text('wall minutes', minutes(peer.wall_seconds), minutes(engine?.wallSeconds));
  console.log(`\npeer per epoch (train loss / val mAP@0.5): ${peer.epochs.map((e) => `${e.train_loss.toFixed(3)}/${f3(e.val_map50)}`).join('  ')}`);
  if (engine) {
    console.log(
      `engine run ${engine.run}: ${engine.threads} threads${engine.timeBudget ? '; trained under a time budget (its cosine followed the budget plan)' : ''}`,
    );
    console.log('train minutes: steps only (no validation); wall minutes: the whole run (data, validation, test, export on the engine side)');
  }
}

/** Bad input (an unknown run or version, a run the peer cannot follow) throws a SecondreadError: bin/run-bench.js prints it. */
export async function main(args: string[]): Promise<void> {
  const o = parseArgs(args);
  await withContext(async (ctx) => {
    const db = await ctx.db();
    const objects = ctx.objects();
    const tracker = new Tracker(db, objects);
    const { plan, run } = await resolvePlan(o, tracker, db);
    const engine = run ? engineSide(run, plan) : undefined;
    const epochs = o.epochs ?? plan.options.epochs ?? engine?.epochs ?? undefined;
    if (epochs === undefined) throw new ValidationError(`run ${run?.id}: no epoch count in its params or summary; give --epochs`);
    const log = (s: string): void => void (o.json || process.stderr.write(`${s}\n`));
    log(`loading ${plan.options.dataset} at ${plan.model.imageSize} px as the engine's trainer does`);
    const data = await loadData({ db, objects, cacheDir: join(ctx.config.home, 'cache') }, plan);
    const recipe = peerRecipe(plan.options, epochs, data.train.count);
    const dir = await mkdtemp(join(tmpdir(), 'bench-det-parity-'));
    try {
      await writePeerData(dir, data, { config: plan.model as DetectorConfig, recipe, norm: pixelStats(data.train.images), thresholds: EVAL_THRESHOLDS });
      log(`PyTorch peer: ${epochs} epochs, batch ${recipe.batchSize}, lr ${recipe.lr}, patience ${recipe.patience}`);
      const peer = await trainPeer(dir, o.threads ?? engine?.threads ?? 2, { echo: !o.json });
      const report = detectionReport(truthOf(data.test), peerPredictions(peer), DETECTION_CLASSES);
      const counts = { train: data.train.count, val: data.val.count, test: data.test.count };
      if (o.json) {
        const pick = ({ map50, map40, mapCoco, froc }: DetectionReport) => ({ map50, map40, map_coco: mapCoco, froc_mean: froc.mean });
        const delta = engine && report.map50 !== null && engine.map50 !== null ? report.map50 - engine.map50 : null;
        console.log(
          JSON.stringify(
            {
              dataset: plan.options.dataset,
              model: plan.model,
              images: counts,
              recipe,
              peer: { ...peer, test: pick(report) },
              engine,
              delta_map50: delta,
              goal: GOAL,
            },
            null,
            2,
          ),
        );
        return;
      }
      printTable(plan, counts, peer, report, engine);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
