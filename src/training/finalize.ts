// The end of a run: take the best weights (lowest validation loss), fit the temperature on validation, compute
// every metric on val / test / final_eval, export the inference ONNX with everything a server needs in its
// metadata, and store metrics.json and the two charts as run artifacts.
import { renderChartsPng, renderConfusionMatrixPng } from '../core/charts/index.js';
import { SECONDREAD_CLASSES } from '../data/classes.js';
import { PREPROCESS_POLICY } from '../data/images/preprocess.js';
import { decodeCheckpoint, EvalSession, type ExecutionOptions, exportInferenceModel, type ModelBuilder } from '../engine/index.js';
import type { ModelConfig } from '../models/index.js';
import type { MetricPoint, Tracker } from '../tracking/index.js';
import type { BudgetState } from './budget.js';
import type { Normalization } from './data/augment.js';
import type { TrainingData } from './dataset.js';
import { predictSet } from './evaluate.js';
import { type ClassifierReport, classifierReport, fitTemperature, type TemperatureFit } from './metrics/index.js';
import { ARTIFACTS } from './retrain.js';
import type { TrainerProgress } from './state.js';

/** metadata_props keys the trainer adds to the exported model (values are JSON). */
export const TRAINER_METADATA = {
  temperature: 'secondread.temperature',
  run: 'secondread.run',
  datasetVersion: 'secondread.dataset_version',
} as const;

export interface FinalMetrics {
  run: string;
  datasetVersion: string;
  model: ModelConfig;
  classes: readonly string[];
  calibration: TemperatureFit & { fittedOn: 'val' };
  bestEpoch: number | null;
  epochsTrained: number;
  stoppedEarly: boolean;
  training: { steps: number; images: number; seconds: number; imagesPerSecond: number };
  /** A time-budgeted run's plan and clock at the end (absent without --time-budget). */
  budget?: BudgetState;
  data: TrainingData['counts'] & { addedFinalEval: number };
  val: ClassifierReport;
  test: ClassifierReport | null;
  finalEval: ClassifierReport | null;
}

export interface FinalizeInput {
  runId: string;
  tracker: Tracker;
  build: ModelBuilder;
  model: ModelConfig;
  norm: Normalization;
  data: TrainingData;
  datasetVersion: string;
  progress: TrainerProgress;
  steps: number;
  evalBatchSize: number;
  execution?: ExecutionOptions;
  onProgress?: (phase: string) => void;
}

/** How serving must turn an image into the model's input (stored in the ONNX metadata). */
export function preprocessingSpec(model: Pick<ModelConfig, 'imageSize' | 'inChannels'>, norm: Normalization) {
  return {
    policy: PREPROCESS_POLICY.name,
    policyVersion: PREPROCESS_POLICY.version,
    size: model.imageSize,
    channels: model.inChannels,
    layout: 'NCHW',
    dtype: 'float32',
    /** input = (pixel / 255 − mean) / std, pixel the 8-bit grayscale letterboxed value. */
    scale: 1 / 255,
    mean: norm.mean,
    std: norm.std,
  };
}

export async function finalizeRun(f: FinalizeInput): Promise<FinalMetrics> {
  const classes = SECONDREAD_CLASSES;
  const n = classes.length;
  const best = decodeCheckpoint(await f.tracker.getArtifact(f.runId, ARTIFACTS.best), `${ARTIFACTS.best}`);
  const session = await EvalSession.create(f.build, { state: best.tensors, execution: f.execution });
  let reports: { val: ClassifierReport; test: ClassifierReport | null; finalEval: ClassifierReport | null; fit: TemperatureFit };
  try {
    f.onProgress?.('evaluate');
    const val = await predictSet(session, f.data.val, f.norm, n, f.evalBatchSize);
    const fit = fitTemperature(val.logits, val.labels, n);
    const report = async (set: TrainingData['test']) => {
      if (set.count === 0) return null;
      const p = await predictSet(session, set, f.norm, n, f.evalBatchSize);
      return classifierReport({ logits: p.logits, labels: p.labels, classes, temperature: fit.temperature });
    };
    reports = {
      val: classifierReport({ logits: val.logits, labels: val.labels, classes, temperature: fit.temperature }),
      test: await report(f.data.test),
      finalEval: await report(f.data.finalEval),
      fit,
    };
  } finally {
    await session.release();
  }

  f.onProgress?.('export');
  const exported = exportInferenceModel(f.build, {
    weights: best.tensors,
    classNames: classes,
    preprocessing: preprocessingSpec(f.model, f.norm),
    model: f.model,
    metadata: {
      [TRAINER_METADATA.temperature]: JSON.stringify(reports.fit.temperature),
      [TRAINER_METADATA.run]: JSON.stringify(f.runId),
      [TRAINER_METADATA.datasetVersion]: JSON.stringify(f.datasetVersion),
    },
  });
  const p = f.progress;
  const metrics: FinalMetrics = {
    run: f.runId,
    datasetVersion: f.datasetVersion,
    model: f.model,
    classes,
    calibration: { ...reports.fit, fittedOn: 'val' },
    bestEpoch: p.bestEpoch,
    epochsTrained: p.epoch,
    stoppedEarly: p.stoppedEarly,
    training: trainingFigures(p, f.steps),
    ...(p.budget ? { budget: p.budget } : {}),
    data: { ...f.data.counts, addedFinalEval: f.data.addedFinalEval },
    val: reports.val,
    test: reports.test,
    finalEval: reports.finalEval,
  };

  await f.tracker.putArtifact(f.runId, ARTIFACTS.model, exported.bytes);
  await f.tracker.putArtifact(f.runId, ARTIFACTS.metrics, `${JSON.stringify(metrics, null, 2)}\n`);
  const shown = reports.test ?? reports.val;
  await f.tracker.putArtifact(
    f.runId,
    ARTIFACTS.confusion,
    await renderConfusionMatrixPng({
      classNames: classes,
      matrix: shown.confusion,
      title: `${reports.test ? 'test' : 'val'} confusion matrix (n = ${shown.count})`,
    }),
  );
  await f.tracker.putArtifact(f.runId, ARTIFACTS.curves, await renderCurves(p));
  await f.tracker.logMetrics(f.runId, finalPoints(metrics, f.steps));
  return metrics;
}

/** Steps, images and seconds of training, and their rate (every task's metrics.json). */
export function trainingFigures(p: TrainerProgress, steps: number): FinalMetrics['training'] {
  return { steps, images: p.imagesSeen, seconds: p.trainSeconds, imagesPerSecond: p.trainSeconds > 0 ? p.imagesSeen / p.trainSeconds : 0 };
}

function renderCurves(p: TrainerProgress): Promise<Buffer> {
  const series = (name: string, pick: (h: TrainerProgress['history'][number]) => number | null) => ({
    name,
    points: p.history.flatMap((h) => {
      const y = pick(h);
      return y === null ? [] : [{ x: h.epoch, y }];
    }),
  });
  return renderChartsPng([
    { title: 'loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: [series('train', (h) => h.trainLoss), series('val', (h) => h.valLoss)] },
    {
      title: 'accuracy',
      xLabel: 'epoch',
      yLabel: 'accuracy',
      yMin: 0,
      yMax: 1,
      series: [series('train', (h) => h.trainAccuracy), series('val', (h) => h.valAccuracy)],
    },
  ]);
}

/** Final figures as metric points at the last step (keys that per-epoch logging never uses). */
function finalPoints(m: FinalMetrics, step: number): MetricPoint[] {
  const points: MetricPoint[] = [{ key: 'calibration/temperature', value: m.calibration.temperature, step }];
  const add = (split: 'val' | 'test' | 'final_eval', r: ClassifierReport | null, keys: readonly string[]) => {
    if (!r) return;
    const figures: Record<string, number | null> = {
      accuracy: r.accuracy,
      macro_f1: r.macroF1,
      macro_auc: r.macroAuc,
      ece: r.ece,
      ece_uncalibrated: r.eceUncalibrated,
      nll: r.nll,
    };
    for (const k of keys) {
      const v = figures[k];
      if (v !== null && v !== undefined) points.push({ key: `${split}/${k}`, value: v, step, split });
    }
  };
  // val/accuracy, val/loss and val/macro_f1 are per-epoch series; the final val figures add the rest.
  add('val', m.val, ['macro_auc', 'ece', 'ece_uncalibrated', 'nll']);
  add('test', m.test, ['accuracy', 'macro_f1', 'macro_auc', 'ece', 'ece_uncalibrated', 'nll']);
  add('final_eval', m.finalEval, ['accuracy', 'macro_f1', 'macro_auc', 'ece', 'ece_uncalibrated', 'nll']);
  return points;
}

/** The scalars stored as the run's summary (shown by `runs ls/show/compare`). */
export function runSummary(m: FinalMetrics): Record<string, number> {
  const out: Record<string, number> = {
    temperature: m.calibration.temperature,
    epochs: m.epochsTrained,
    train_seconds: m.training.seconds,
    images_per_second: m.training.imagesPerSecond,
  };
  if (m.bestEpoch !== null) out.best_epoch = m.bestEpoch;
  const put = (prefix: string, r: ClassifierReport | null) => {
    if (!r) return;
    out[`${prefix}_accuracy`] = r.accuracy;
    if (r.macroF1 !== null) out[`${prefix}_macro_f1`] = r.macroF1;
    if (r.macroAuc !== null) out[`${prefix}_macro_auc`] = r.macroAuc;
    out[`${prefix}_ece`] = r.ece;
  };
  put('val', m.val);
  put('test', m.test);
  put('final_eval', m.finalEval);
  return out;
}
