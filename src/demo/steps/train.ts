// Step 3: the demo model's training run, tracked in experiment `demo`. A finished run of this dataset version
// is reused; one left running (crash) or killed (Ctrl-C) is resumed from its last checkpoint; a failed one is
// left for inspection and a new run starts.
import { SecondreadError } from '../../core/errors.js';
import { percent } from '../../core/format.js';
import { ARTIFACTS, type FinalMetrics, resumeTraining, startTraining, type TrainOptionsInput } from '../../training/index.js';
import { type DemoContext, type DemoModelFigures, need, type StepResult } from '../context.js';
import { DEMO_EXPERIMENT, DEMO_MODEL, type DemoOptions } from '../options.js';

export const DEMO_RUN_NAME = 'demo-model';

/**
 * What the demo sets beyond the model's own recipe (training/options.ts MODEL_RECIPES, the measured best per model):
 * vit-tiny has no measured recipe there, so the demo keeps the one it measured for it (docs/quickstart.md, "Why this
 * recipe": lr 5e-3, batch 32, no dropout, a 1-epoch warm-up).
 */
const DEMO_OVERRIDES: Partial<Record<DemoOptions['model'], Partial<TrainOptionsInput>>> = {
  'vit-tiny': { batchSize: 32, lr: 5e-3, warmupEpochs: 1, dropout: 0, cropMinScale: 0.9, rotateDegrees: 5, brightness: 0.1, contrast: 0.1 },
};

/** The demo model's training options: its recipe, for a fixed number of epochs or the time budget, whichever ends first. */
export function demoTrainOptions(o: DemoOptions, datasetVersion: string): TrainOptionsInput {
  return {
    dataset: datasetVersion,
    model: o.model,
    size: o.size,
    epochs: o.epochs,
    timeBudget: o.timeBudget,
    ...DEMO_OVERRIDES[o.model],
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.lr !== undefined ? { lr: o.lr } : {}),
    patience: 0,
    seed: o.seed,
    experiment: DEMO_EXPERIMENT,
    name: DEMO_RUN_NAME,
  };
}

const figure = (r: FinalMetrics['test']) => (r ? { accuracy: r.accuracy, count: r.count } : null);

export function modelFigures(m: FinalMetrics, version = 0): DemoModelFigures {
  return {
    name: DEMO_MODEL,
    version,
    architecture: m.model.name,
    inputSize: m.model.imageSize,
    epochs: m.epochsTrained,
    trainSeconds: m.training.seconds,
    test: figure(m.test),
    val: { accuracy: m.val.accuracy, count: m.val.count },
    finalEval: figure(m.finalEval),
  };
}

export async function trainStep(c: DemoContext): Promise<StepResult> {
  const datasetVersion = need(c.out.datasetVersion, 'the dataset version');
  const runs = (await c.tracker.listRuns({ experiment: DEMO_EXPERIMENT })).filter((r) => r.name === DEMO_RUN_NAME && r.datasetVersion === datasetVersion);
  const finished = runs.find((r) => r.status === 'finished');
  let outcome: StepResult['outcome'] = 'reused';
  let runId: string;
  let metrics: FinalMetrics;
  if (finished) {
    runId = finished.id;
    metrics = JSON.parse((await c.tracker.getArtifact(runId, ARTIFACTS.metrics)).toString('utf8')) as FinalMetrics;
  } else {
    const unfinished = runs.find((r) => r.status === 'running' || r.status === 'killed');
    const deps = { db: c.db, objects: c.objects, tracker: c.tracker, registry: c.registry, cacheDir: c.cacheDir, onProgress: c.onProgress, signal: c.signal };
    const result = unfinished ? await resumeTraining(deps, unfinished.id) : await startTraining(deps, demoTrainOptions(c.options, datasetVersion));
    if (result.status === 'killed' || !result.metrics) {
      throw new SecondreadError('interrupted', `training interrupted (run ${result.run.id} checkpointed): the next \`npm start\` resumes it`, 409, {
        run: result.run.id,
      });
    }
    runId = result.run.id;
    metrics = result.metrics;
    outcome = 'ran';
  }
  c.out.runId = runId;
  c.out.model = modelFigures(metrics);
  const m = c.out.model;
  const test = m.test
    ? `test accuracy ${percent(m.test.accuracy)} (n=${m.test.count}, chance ${percent(1 / metrics.classes.length)})`
    : `val accuracy ${percent(m.val.accuracy)}`;
  return { outcome, detail: `run ${runId}: ${m.architecture} ${m.inputSize}×${m.inputSize}, ${m.epochs} epochs, ${test}` };
}
