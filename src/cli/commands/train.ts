// `secondread train`: trains a classifier (ViT or CNN) or, with --task detect, a detector (docs/detection.md) on a
// dataset version (docs/training.md), tracked as a run with checkpoints,
// metrics and the exported model as artifacts. `--resume <run>` continues a run from its last checkpoint;
// `--from-model <name[:version|@alias]>` retrains a registered model on more data as a child run.
import { join } from 'node:path';

import { type Command, InvalidArgumentError, Option } from 'commander';

import { SecondreadError, ValidationError } from '../../core/errors.js';
import { percent } from '../../core/format.js';
import { SECONDREAD_CLASSES } from '../../data/classes.js';
import { MODEL_NAMES } from '../../models/index.js';
import { LINEAR_INITS, POOLS } from '../../models/vit.js';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { BALANCE_MODES } from '../../training/data/sampler.js';
import type { DetectionFinalMetrics } from '../../training/finalize-detect.js';
import {
  type FinalMetrics,
  modelRecipe,
  resumeTraining,
  startTraining,
  type TrainOptionsInput,
  trainOptionsSchema,
  type TrainResult,
} from '../../training/index.js';
import { DETECTOR_NAMES, TASKS } from '../../training/options.js';
import { withContext } from '../context.js';
import { parseIntegerList } from '../parse.js';
import { createProgressRenderer } from '../progress.js';

const DEFAULTS = trainOptionsSchema.parse({});
/** A recipe option's default for --help: the models' recipes differ (src/training/options.ts). */
const recipe = (
  k:
    | 'epochs'
    | 'weightDecay'
    | 'batchSize'
    | 'lr'
    | 'warmupEpochs'
    | 'labelSmoothing'
    | 'patience'
    | 'cropMinScale'
    | 'rotateDegrees'
    | 'brightness'
    | 'contrast'
    | 'sharpShare',
) =>
  `${modelRecipe('vit-small')[k]} for vit-small/vit-seed, ${modelRecipe('cnn-small')[k]} for cnn-small, ${modelRecipe('vit-tiny')[k]} for vit-tiny/cnn-tiny, ${modelRecipe('det-nano')[k]} for the detectors`;

function number(flag: string, check: (n: number) => boolean = Number.isFinite) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !check(n))
      throw new InvalidArgumentError(`${flag} must be a number${check === Number.isFinite ? '' : ' in range'}`);
    return n;
  };
}
const int = (flag: string) => number(flag, (n) => Number.isInteger(n) && n >= 0);
/** Comma-separated positive integers (`--stem-strides 1,2,2`), reported the way commander reports a bad value. */
const ints =
  (flag: string) =>
  (value: string): number[] => {
    try {
      return parseIntegerList(flag, value, 1, 4096);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };

/** CLI flag → option key; only flags the user gave are passed on, so the defaults live in one place (options.ts). */
const FLAG_KEYS = [
  'task',
  'dataset',
  'model',
  'size',
  'patchSize',
  'stemStrides',
  'stemChannels',
  'pool',
  'epochs',
  'timeBudget',
  'batchSize',
  'lr',
  'minLrRatio',
  'weightDecay',
  'warmupEpochs',
  'clipGradNorm',
  'labelSmoothing',
  'emaDecay',
  'dropout',
  'dropPath',
  'mixup',
  'cutmix',
  'layerDecay',
  'linearInit',
  'seed',
  'patience',
  'balance',
  'augment',
  'hflip',
  'cropMinScale',
  'rotateDegrees',
  'brightness',
  'contrast',
  'sharpShare',
  'randomErase',
  'checkpointEvery',
  'logEvery',
  'evalBatchSize',
  'workers',
  'threads',
  'experiment',
  'name',
  'fromModel',
  'addFinalEvalFraction',
] as const;

type CliOptions = Partial<Record<(typeof FLAG_KEYS)[number], unknown>> & { resume?: string; json?: boolean };

const duration = (s: number) => (s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

/** The confusion matrix as an aligned text table (rows = truth, columns = prediction, numbered as the rows). */
export function formatConfusion(cm: readonly (readonly number[])[], classes: readonly string[]): string {
  const w = Math.max(4, ...cm.flat().map((v) => String(v).length + 1));
  const corner = 'truth \\ predicted';
  const nameW = Math.max(corner.length, ...classes.map((c, i) => `${i + 1} ${c}`.length)) + 1;
  const head = `${corner.padEnd(nameW)}${classes.map((_, j) => String(j + 1).padStart(w)).join('')}`;
  const rows = cm.map((row, i) => `${`${i + 1} ${classes[i]}`.padEnd(nameW)}${row.map((v) => String(v).padStart(w)).join('')}`);
  return [head, ...rows].join('\n');
}

/** How a time-budgeted run used its budget (none without one). */
function budgetLine(m: Pick<FinalMetrics, 'budget' | 'training'>): string[] {
  const b = m.budget;
  if (!b) return [];
  const end = b.deadlineReached ? `the budget ran out at step ${m.training.steps} of ${b.totalSteps ?? '?'} planned` : 'schedule completed';
  return [
    `  time budget ${duration(b.seconds)}: ${duration(b.elapsed)} used, ${b.totalSteps ?? '?'} steps planned (${b.plans} plan${b.plans === 1 ? '' : 's'}), ${end}`,
  ];
}

const ap = (v: number | null): string => (v === null ? '—' : v.toFixed(3));

/** A finished run's first lines, classifier or detector: what was trained on what, for how long, and the budget. */
function runHead(r: TrainResult, m: FinalMetrics | DetectionFinalMetrics, bestBy: string, imagesPerSecondDigits: number): string[] {
  return [
    `run ${r.run.id} finished (experiment ${r.run.params.experiment as string}, dataset ${m.datasetVersion}, ${m.model.name} ${m.model.imageSize}×${m.model.imageSize})`,
    `  trained ${m.epochsTrained} epoch${m.epochsTrained === 1 ? '' : 's'}${m.stoppedEarly ? ' (stopped early)' : ''}, best epoch ${m.bestEpoch ?? '—'}${bestBy}, ${m.training.steps} steps in ${duration(m.training.seconds)} (${m.training.imagesPerSecond.toFixed(imagesPerSecondDigits)} img/s)`,
    ...budgetLine(m),
  ];
}

/** One line per evaluated set (val, test, final_eval) that has a report. */
function setLines<R>(m: { val: R; test?: R | null; finalEval?: R | null }, line: (rep: R) => string): string[] {
  const sets = [
    ['val', m.val],
    ['test', m.test],
    ['final_eval', m.finalEval],
  ] as const;
  return sets.flatMap(([name, rep]) => (rep ? [`  ${name.padEnd(10)} ${line(rep)}`] : []));
}

/** A finished detection run: the figures of each set under their protocols, and the per-class table of the test set. */
export function formatDetectionResult(r: TrainResult & { detection: DetectionFinalMetrics }): string {
  const m = r.detection;
  const lines = [
    ...runHead(r, m, ' (val mAP@0.5)', 1),
    ...setLines(
      m,
      (rep) =>
        `images ${String(rep.images).padStart(5)} boxes ${String(rep.truthBoxes).padStart(5)}  mAP@0.4 ${ap(rep.map40)}  mAP@0.5 ${ap(rep.map50)}  COCO mAP ${ap(rep.mapCoco)}  FROC ${rep.froc.sensitivity.map((s) => `${s.fpPerImage}:${s.sensitivity.toFixed(2)}`).join(' ')} (mean ${rep.froc.mean.toFixed(3)})`,
    ),
  ];
  const shown = m.test ?? m.val;
  lines.push('', `${m.test ? 'test' : 'val'} per class (VOC AP@0.4, AP@0.5, COCO AP):`);
  const w = Math.max(...shown.perClass.map((c) => c.class.length));
  for (const c of shown.perClass)
    lines.push(`  ${c.class.padEnd(w)}  truth ${String(c.truthBoxes).padStart(4)}  ${ap(c.ap40)}  ${ap(c.ap50)}  ${ap(c.apCoco)}`);
  lines.push(
    '',
    `artifacts: model.onnx (NMS in the graph), metrics.json, pr-curves.png, detection-table.png, curves.png, checkpoints (secondread runs show ${r.run.id})`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatTrainResult(r: TrainResult): string {
  if (r.status !== 'killed' && r.detection) return formatDetectionResult({ ...r, detection: r.detection });
  if (r.status === 'killed' || !r.metrics) return `run ${r.run.id} interrupted: checkpointed; continue with: secondread train --resume ${r.run.id}\n`;
  const m: FinalMetrics = r.metrics;
  const lines = [
    ...runHead(r, m, '', 0),
    `  temperature ${m.calibration.temperature.toFixed(3)} (val NLL ${m.calibration.nllBefore.toFixed(4)} → ${m.calibration.nllAfter.toFixed(4)})`,
    ...setLines(
      m,
      (rep) =>
        `n=${String(rep.count).padStart(5)}  accuracy ${percent(rep.accuracy)}  macro-F1 ${percent(rep.macroF1)}  macro-AUC ${rep.macroAuc?.toFixed(3) ?? '—'}  ECE ${rep.ece.toFixed(3)} (uncalibrated ${rep.eceUncalibrated.toFixed(3)})`,
    ),
  ];
  const shown = m.test ?? m.val;
  lines.push('', `${m.test ? 'test' : 'val'} confusion matrix:`, formatConfusion(shown.confusion, SECONDREAD_CLASSES), '');
  lines.push(`artifacts: model.onnx, metrics.json, confusion-matrix.png, curves.png, checkpoints (secondread runs show ${r.run.id})`);
  return `${lines.join('\n')}\n`;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a classifier (ViT or CNN) or a detector (--task detect) on a dataset version (tracked run: checkpoints, metrics, exported ONNX)')
    .addOption(new Option('--task <task>', "classify (default) or detect (boxes of the 14 VinDr findings; default: the model's)").choices(TASKS))
    .option('--dataset <version>', "dataset version id or unique prefix (default with --from-model: the base model's)")
    .addOption(
      new Option('--model <name>', `architecture (default vit-small, det-nano with --task detect; with --from-model: the base model's)`).choices([
        ...MODEL_NAMES,
        ...DETECTOR_NAMES,
      ]),
    )
    .option('--size <px>', `input side in pixels (default: the model's; cnn-small's recipe ${modelRecipe('cnn-small').size})`, int('--size'))
    .option(
      '--patch-size <n>',
      "patch side on the conv stem's output grid (default: the model's; vit-small 2 = 64 tokens, 4 = 16 tokens and ~1.6× the images/s)",
      int('--patch-size'),
    )
    .option(
      '--stem-strides <list>',
      "strides of the conv-stem blocks, comma-separated (default: the model's, 2,2,1; 1,2,2 keeps full resolution in the first block, for fine findings)",
      ints('--stem-strides'),
    )
    .option(
      '--stem-channels <list>',
      "output channels of the conv-stem blocks, comma-separated (default: the model's; vit-small 32,64,128)",
      ints('--stem-channels'),
    )
    .addOption(new Option('--pool <kind>', 'what the head reads: the [CLS] token (default) or the mean of the patch tokens').choices(POOLS))
    .option('--epochs <n>', `epochs (default ${recipe('epochs')})`, int('--epochs'))
    .option(
      '--time-budget <minutes>',
      'train for this many minutes: the learning-rate schedule is fitted to the steps that fit, measured after the first steps (with --epochs: whichever ends first)',
      number('--time-budget', (n) => n > 0),
    )
    .option('--batch-size <n>', `batch size (default ${recipe('batchSize')})`, int('--batch-size'))
    .option('--lr <rate>', `peak learning rate (default ${recipe('lr')})`, number('--lr'))
    .option('--min-lr-ratio <r>', `cosine floor as a fraction of --lr (default ${DEFAULTS.minLrRatio})`, number('--min-lr-ratio'))
    .option('--weight-decay <wd>', `AdamW weight decay (default ${recipe('weightDecay')})`, number('--weight-decay'))
    .option('--warmup-epochs <n>', `linear warm-up, in epochs (default ${recipe('warmupEpochs')})`, number('--warmup-epochs'))
    .option('--clip-grad-norm <c>', `global gradient-norm clip (default ${DEFAULTS.clipGradNorm})`, number('--clip-grad-norm'))
    .option('--label-smoothing <e>', `label smoothing (default ${recipe('labelSmoothing')})`, number('--label-smoothing'))
    .option(
      '--ema-decay <d>',
      "validate, keep and test an exponential moving average of the weights with this decay, e.g. 0.998 (default 0: the last step's weights)",
      number('--ema-decay'),
    )
    .option(
      '--dropout <p>',
      "dropout in the transformer blocks, or before a CNN's head (default: 0 for vit-small/vit-seed, the model config's 0.1 for vit-tiny, 0.2 for cnn-small)",
      number('--dropout'),
    )
    .option(
      '--drop-path <p>',
      `stochastic depth (ViT): drop-path rate of the last block, rising linearly from 0 in the first (default ${DEFAULTS.dropPath})`,
      number('--drop-path', (n) => n >= 0 && n < 1),
    )
    .option(
      '--mixup <alpha>',
      `mixup: Beta(α, α) mixing of image pairs and their labels (0 = off; default ${DEFAULTS.mixup})`,
      number('--mixup', (n) => n >= 0),
    )
    .option(
      '--cutmix <alpha>',
      `cutmix: a Beta(α, α)-sized box pasted from another image (0 = off; default ${DEFAULTS.cutmix})`,
      number('--cutmix', (n) => n >= 0),
    )
    .option(
      '--layer-decay <d>',
      `layer-wise LR decay (ViT): block i at lr·d^(depth − i), stem and patch embedding at lr·d^(depth + 1), head at lr (1 = off; default ${DEFAULTS.layerDecay})`,
      number('--layer-decay', (n) => n > 0 && n <= 1),
    )
    .addOption(
      new Option('--linear-init <kind>', `Linear-layer init of a fresh model (default ${DEFAULTS.linearInit}; trunc-normal = timm's 0.02)`).choices(
        LINEAR_INITS,
      ),
    )
    .option('--seed <n>', `seed of initialization, shuffling, augmentation and dropout (default ${DEFAULTS.seed})`, int('--seed'))
    .option(
      '--patience <n>',
      `early stopping: epochs without improvement of val loss (classifier) or val mAP@0.5 (detector) (0 = off; default ${recipe('patience')})`,
      int('--patience'),
    )
    .addOption(new Option('--balance <mode>', `class balancing (default ${DEFAULTS.balance})`).choices(BALANCE_MODES))
    .option('--hflip', 'augment with horizontal flips (off by default: laterality matters in CXR and OCT)')
    .option('--no-hflip', 'no horizontal flips')
    .option('--no-augment', 'no augmentation at all')
    .option('--crop-min-scale <s>', `random resized crop: smallest crop area share (default ${recipe('cropMinScale')})`, number('--crop-min-scale'))
    .option('--rotate-degrees <d>', `random rotation ±degrees (default ${recipe('rotateDegrees')})`, number('--rotate-degrees'))
    .option('--brightness <b>', `brightness jitter ±b (default ${recipe('brightness')})`, number('--brightness'))
    .option('--contrast <c>', `contrast jitter ±c (default ${recipe('contrast')})`, number('--contrast'))
    .option(
      '--sharp-share <p>',
      `share of training images only shifted by whole pixels, keeping them as sharp as the images the model is evaluated and served on (default ${recipe('sharpShare')})`,
      number('--sharp-share'),
    )
    .option(
      '--random-erase <p>',
      `random erasing: with probability p one rectangle of 2–33% of the image is set to the mean (default ${DEFAULTS.randomErase})`,
      number('--random-erase', (n) => n >= 0 && n <= 1),
    )
    .option('--checkpoint-every <steps>', 'also checkpoint every N steps (default: at epoch ends only)', int('--checkpoint-every'))
    .option('--log-every <steps>', `log train metrics every N steps (default ${DEFAULTS.logEvery})`, int('--log-every'))
    .option('--eval-batch-size <n>', `evaluation batch size (default ${DEFAULTS.evalBatchSize})`, int('--eval-batch-size'))
    .option('--workers <n>', `batch-preparation threads (0 = main thread; default ${DEFAULTS.workers})`, int('--workers'))
    .option('--threads <n>', `ONNX Runtime intra-op threads (default ${DEFAULTS.threads})`, int('--threads'))
    .option('--experiment <name>', `experiment (default ${DEFAULTS.experiment})`)
    .option('--name <name>', 'run name')
    .option('--from-model <ref>', 'retrain a registered model: name, name:version or name@alias (child run)')
    .option(
      '--add-final-eval-fraction <f>',
      "with --from-model: move this share of the base version's final_eval images into training",
      number('--add-final-eval-fraction'),
    )
    .option('--resume <run>', 'continue an interrupted run from its last checkpoint (other options come from the run)')
    .option('--json', 'print the final metrics as JSON')
    .action(async (opts: CliOptions) => {
      const given: Record<string, unknown> = {};
      for (const k of FLAG_KEYS) if (opts[k] !== undefined) given[k] = opts[k];
      // --no-augment/--no-hflip defaults (true / undefined) are commander's, not the user's choice.
      if (opts.augment === true) delete given.augment;
      if (opts.resume && Object.keys(given).length > 0)
        throw new ValidationError(
          `--resume continues a run with its own options; do not pass ${Object.keys(given)
            .map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`)
            .join(', ')}`,
        );
      await withContext(async (ctx) => {
        const db = await ctx.db();
        const objects = ctx.objects();
        const tracker = new Tracker(db, objects);
        const progress = createProgressRenderer();
        const abort = new AbortController();
        const onSignal = (sig: NodeJS.Signals) => {
          if (abort.signal.aborted) process.exit(130); // second signal: give up without checkpointing
          process.stderr.write(`\n${sig}: stopping after the current step and checkpointing (again to quit at once)\n`);
          abort.abort();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        const deps = {
          db,
          objects,
          tracker,
          registry: new ModelRegistry(db, objects, tracker),
          cacheDir: join(ctx.config.home, 'cache'),
          onProgress: progress.onProgress,
          signal: abort.signal,
          onRunStarted: (run: { id: string }) => process.stderr.write(`run ${run.id}\n`),
        };
        let result: TrainResult;
        try {
          result = opts.resume ? await resumeTraining(deps, opts.resume) : await startTraining(deps, given as TrainOptionsInput);
        } finally {
          progress.stop();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        // An interrupted run is not a success: a non-zero exit (via the error path) tells scripts to resume it.
        if (result.status === 'killed') throw new SecondreadError('interrupted', formatTrainResult(result).trim(), 409, { run: result.run.id });
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ run: result.run.id, status: result.status, metrics: result.metrics ?? result.detection ?? null }, null, 2)}\n`
            : formatTrainResult(result),
        );
      });
    });
}
