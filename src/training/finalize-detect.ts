// The end of a detection run: the best weights (highest val mAP@0.5), every figure of docs/detection.md on val, test
// and final_eval (mAP@0.4, mAP@0.5, COCO mAP, FROC, AP per class), the inference ONNX with the boxes decoded and
// NonMaxSuppression inside the graph (detector-export.ts) and what a server needs in its metadata, and metrics.json,
// the training curves, the precision–recall/FROC charts and the per-class table as run artifacts.
import { renderChartsPng } from '../core/charts/index.js';
import { DETECTION_CLASSES } from '../data/detection/types.js';
import { decodeCheckpoint, EvalSession, EXPORT_METADATA, exportInferenceModel } from '../engine/index.js';
import { type DetectorConfig, detectorModel } from '../models/detector.js';
import { DETECTION_DEFAULTS, detectionMetadata, detectorInference } from '../models/detector-export.js';
import type { MetricPoint } from '../tracking/index.js';
import type { BudgetState } from './budget.js';
import type { TrainingData } from './dataset.js';
import { evaluateDetections } from './detect-task.js';
import { detectionChartsPng } from './detection-charts.js';
import { type FinalizeInput, preprocessingSpec, TRAINER_METADATA, trainingFigures } from './finalize.js';
import type { DetectionReport } from './metrics/detection.js';
import { ARTIFACTS } from './retrain.js';
import type { TrainerProgress } from './state.js';

/** The detector's charts among a run's artifacts. */
export const DETECTION_ARTIFACTS = { prCurves: 'pr-curves.png', classTable: 'detection-table.png' } as const;

export interface DetectionFinalMetrics {
  task: 'detect';
  run: string;
  datasetVersion: string;
  model: DetectorConfig;
  classes: readonly string[];
  bestEpoch: number | null;
  epochsTrained: number;
  stoppedEarly: boolean;
  training: { steps: number; images: number; seconds: number; imagesPerSecond: number };
  budget?: BudgetState;
  data: TrainingData['counts'] & { addedFinalEval: number; boxes: { train: number; val: number; test: number; finalEval: number } };
  val: DetectionReport;
  test: DetectionReport | null;
  finalEval: DetectionReport | null;
}

/** The classifier's finalize input, with the detector's config (no builder: the export graph is detectorInference). */
export type DetectionFinalizeInput = Omit<FinalizeInput, 'build' | 'model'> & { model: DetectorConfig };

const boxCount = (set: TrainingData['train']): number => set.boxes?.classes.length ?? 0;

export async function finalizeDetectionRun(f: DetectionFinalizeInput): Promise<DetectionFinalMetrics> {
  const best = decodeCheckpoint(await f.tracker.getArtifact(f.runId, ARTIFACTS.best), ARTIFACTS.best);
  const session = await EvalSession.create(detectorModel(f.model), { state: best.tensors, execution: f.execution });
  let reports: { val: DetectionReport; test: DetectionReport | null; finalEval: DetectionReport | null };
  try {
    f.onProgress?.('evaluate');
    const report = (set: TrainingData['test']) => (set.count === 0 ? null : evaluateDetections(session, set, f.norm, f.model, f.evalBatchSize));
    reports = {
      val: await evaluateDetections(session, f.data.val, f.norm, f.model, f.evalBatchSize),
      test: await report(f.data.test),
      finalEval: await report(f.data.finalEval),
    };
  } finally {
    await session.release();
  }

  f.onProgress?.('export');
  const exported = exportInferenceModel(detectorInference(f.model, DETECTION_DEFAULTS), {
    weights: best.tensors,
    preprocessing: preprocessingSpec(f.model, f.norm),
    model: f.model,
    metadata: {
      // The class names by hand: the exporter's check pairs them with the last logits axis, here 4·regMax + classes.
      [EXPORT_METADATA.classes]: JSON.stringify(DETECTION_CLASSES),
      ...detectionMetadata(f.model, DETECTION_DEFAULTS),
      [TRAINER_METADATA.run]: JSON.stringify(f.runId),
      [TRAINER_METADATA.datasetVersion]: JSON.stringify(f.datasetVersion),
    },
  });
  const p = f.progress;
  const d = f.data;
  const metrics: DetectionFinalMetrics = {
    task: 'detect',
    run: f.runId,
    datasetVersion: f.datasetVersion,
    model: f.model,
    classes: DETECTION_CLASSES,
    bestEpoch: p.bestEpoch,
    epochsTrained: p.epoch,
    stoppedEarly: p.stoppedEarly,
    training: trainingFigures(p, f.steps),
    ...(p.budget ? { budget: p.budget } : {}),
    data: {
      ...d.counts,
      addedFinalEval: d.addedFinalEval,
      boxes: { train: boxCount(d.train), val: boxCount(d.val), test: boxCount(d.test), finalEval: boxCount(d.finalEval) },
    },
    ...reports,
  };

  const shown = reports.test ?? reports.val;
  const charts = await detectionChartsPng(shown);
  await f.tracker.putArtifact(f.runId, ARTIFACTS.model, exported.bytes);
  await f.tracker.putArtifact(f.runId, ARTIFACTS.metrics, `${JSON.stringify(metrics, null, 2)}\n`);
  await f.tracker.putArtifact(f.runId, DETECTION_ARTIFACTS.prCurves, charts.curves);
  await f.tracker.putArtifact(f.runId, DETECTION_ARTIFACTS.classTable, charts.table);
  await f.tracker.putArtifact(f.runId, ARTIFACTS.curves, await renderDetectionCurves(p));
  await f.tracker.logMetrics(f.runId, finalDetectionPoints(metrics, f.steps));
  return metrics;
}

function renderDetectionCurves(p: TrainerProgress): Promise<Buffer> {
  const points = (pick: (h: TrainerProgress['history'][number]) => number | null | undefined) =>
    p.history.flatMap((h) => {
      const y = pick(h);
      return y === null || y === undefined ? [] : [{ x: h.epoch, y }];
    });
  return renderChartsPng([
    { title: 'training loss', xLabel: 'epoch', yLabel: 'box + class + DFL loss', series: [{ name: 'train', points: points((h) => h.trainLoss) }] },
    { title: 'validation mAP@0.5 (VOC)', xLabel: 'epoch', yLabel: 'mAP@0.5', yMin: 0, yMax: 1, series: [{ name: 'val', points: points((h) => h.valMap50) }] },
  ]);
}

/** The figures of one evaluation set by metric key (without the split). */
function reportFigures(r: DetectionReport): Record<string, number | null> {
  const figures: Record<string, number | null> = { map40: r.map40, map50: r.map50, map_coco: r.mapCoco, froc_mean: r.froc.mean };
  for (const s of r.froc.sensitivity) figures[`froc_${s.fpPerImage}fp`] = s.sensitivity;
  for (const c of r.perClass) figures[`ap40/${c.class}`] = c.ap40;
  return figures;
}

/** Final figures as metric points at the last step (`final/` keys for val: the per-epoch val series differ). */
function finalDetectionPoints(m: DetectionFinalMetrics, step: number): MetricPoint[] {
  const points: MetricPoint[] = [];
  const add = (split: 'val' | 'test' | 'final_eval', prefix: string, r: DetectionReport | null) => {
    if (!r) return;
    for (const [k, v] of Object.entries(reportFigures(r))) if (v !== null) points.push({ key: `${prefix}/${k}`, value: v, step, split });
  };
  add('val', 'best_val', m.val);
  add('test', 'test', m.test);
  add('final_eval', 'final_eval', m.finalEval);
  return points;
}

/** The scalars stored as the run's summary (shown by `runs ls/show/compare`). */
export function detectionRunSummary(m: DetectionFinalMetrics): Record<string, number> {
  const out: Record<string, number> = { epochs: m.epochsTrained, train_seconds: m.training.seconds, images_per_second: m.training.imagesPerSecond };
  if (m.bestEpoch !== null) out.best_epoch = m.bestEpoch;
  const put = (prefix: string, r: DetectionReport | null) => {
    if (!r) return;
    for (const [k, v] of [
      ['map40', r.map40],
      ['map50', r.map50],
      ['map_coco', r.mapCoco],
      ['froc_mean', r.froc.mean],
    ] as const)
      if (v !== null) out[`${prefix}_${k}`] = v;
  };
  put('val', m.val);
  put('test', m.test);
  put('final_eval', m.finalEval);
  return out;
}
