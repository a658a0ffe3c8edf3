// A run's plan: validated options plus everything resolved from them (dataset version ids, model config, the base
// model when retraining). The plan is stored as the run's params — flat options for `runs show` / `runs compare`,
// plus `model_config` and `lineage` — and rebuilt from them by `--resume`, which must never re-resolve an alias
// that may have moved since the run started.
import { ValidationError } from '../core/errors.js';
import { resolveVersionRef } from '../data/datasets/repository.js';
import { detectorConfig } from '../models/detector.js';
import { isCnnConfig, isCnnName, type ModelConfig, modelConfig } from '../models/index.js';
import { type ViTConfig, vitConfig } from '../models/vit.js';
import type { Db } from '../storage/db.js';
import { applyRecipe, isDetectorName, parseTrainOptions, type ResolvedTrainOptions, taskOf, type TrainOptions, trainOptionsSchema } from './options.js';
import type { BaseModel } from './retrain.js';
import { isDetectorConfig, type TrainedModelConfig } from './state.js';

export interface Lineage {
  from_model: string;
  base_model: string;
  base_version: number;
  base_run: string;
  base_dataset: string | null;
  add_final_eval_fraction: number;
}

export interface RunPlan {
  /** The options as given, with the model's recipe filled in (docs/training.md). */
  options: ResolvedTrainOptions & { dataset: string; model: string; size: number };
  model: TrainedModelConfig;
  /** The base version whose train split (and final_eval share) joins training; undefined without retraining. */
  baseDataset?: string;
  lineage?: Lineage;
}

export async function planRun(db: Db, given: TrainOptions, base?: BaseModel): Promise<RunPlan> {
  const baseCfg = base?.config.model;
  if (baseCfg && isDetectorConfig(baseCfg)) throw new ValidationError('--from-model retrains classifiers only (detector retraining is not built yet)');
  const name = given.model ?? baseCfg?.name ?? (given.task === 'detect' ? 'det-nano' : 'vit-small');
  const task = taskOf({ ...given, model: name });
  const options = applyRecipe(given, name, { architecture: !baseCfg });
  const datasetRef = options.dataset ?? base?.datasetVersion ?? undefined;
  if (!datasetRef) throw new ValidationError("the base model's run records no dataset version: pass --dataset");
  const dataset = await resolveVersionRef(db, datasetRef);
  const vitOnly = [
    ['--patch-size', given.patchSize],
    ['--stem-strides', given.stemStrides],
    ['--stem-channels', given.stemChannels],
    ['--pool', given.pool],
    ['--drop-path', given.dropPath > 0 ? given.dropPath : undefined],
    ['--layer-decay', given.layerDecay < 1 ? given.layerDecay : undefined],
  ] as const;
  if (isCnnName(name) || isDetectorName(name) || (baseCfg && isCnnConfig(baseCfg))) {
    const flags = vitOnly.filter(([, v]) => v !== undefined).map(([flag]) => flag);
    if (flags.length > 0) throw new ValidationError(`${flags.join(', ')}: ViT options, and ${name} is ${isDetectorName(name) ? 'a detector' : 'a CNN'}`);
  }
  if (baseCfg) {
    // Retraining starts from the base model's weights, so every architecture override must match it.
    const vit = isCnnConfig(baseCfg) ? undefined : baseCfg;
    const fixed = [
      ['--model', options.model, baseCfg.name, 'architecture'],
      ['--size', options.size, baseCfg.imageSize, 'input size'],
      ['--patch-size', options.patchSize, vit?.patchSize, 'patch size'],
      ['--stem-strides', options.stemStrides, vit?.stemStrides, 'stem strides'],
      ['--stem-channels', options.stemChannels, vit?.stemChannels, 'stem channels'],
      ['--pool', options.pool, vit?.pool ?? 'cls', 'pooling'],
    ] as const;
    for (const [flag, value, have, what] of fixed) {
      if (value !== undefined && String(value) !== String(have)) {
        throw new ValidationError(`${flag} ${String(value)} differs from the base model's ${what} ${String(have)}: retraining keeps the architecture`);
      }
    }
  }
  const model: TrainedModelConfig = !baseCfg
    ? freshModel(name, options)
    : isCnnConfig(baseCfg)
      ? { ...baseCfg, ...sharedOverrides(options) }
      : { ...baseCfg, ...sharedOverrides(options), ...vitOverrides(options) };
  const plan: RunPlan = { options: { ...options, dataset, model: name, size: model.imageSize, task }, model };
  if (base) {
    plan.baseDataset = base.datasetVersion ?? undefined;
    plan.lineage = {
      from_model: base.ref,
      base_model: base.name,
      base_version: base.version,
      base_run: base.runId,
      base_dataset: base.datasetVersion,
      add_final_eval_fraction: options.addFinalEvalFraction,
    };
  }
  return plan;
}

/** Overrides every model family takes (the input size, dropout). */
function sharedOverrides(options: TrainOptions): Partial<Pick<ModelConfig, 'imageSize' | 'dropout'>> {
  const overrides: Partial<Pick<ModelConfig, 'imageSize' | 'dropout'>> = {};
  if (options.size !== undefined) overrides.imageSize = options.size;
  if (options.dropout !== undefined) overrides.dropout = options.dropout;
  return overrides;
}

/** The ViT-only overrides: stem, patch, pooling, stochastic depth. */
function vitOverrides(options: TrainOptions): Partial<ViTConfig> {
  const overrides: Partial<ViTConfig> = {};
  // A training-time choice, taken as this run gives it (a retrained model does not inherit its base's).
  overrides.dropPath = options.dropPath > 0 ? options.dropPath : undefined;
  if (options.patchSize !== undefined) overrides.patchSize = options.patchSize;
  if (options.stemStrides !== undefined) overrides.stemStrides = [...options.stemStrides];
  if (options.stemChannels !== undefined) overrides.stemChannels = [...options.stemChannels];
  if (options.pool !== undefined) overrides.pool = options.pool;
  return overrides;
}

/** The preset `name` with the run's overrides (a fresh ViT also takes its Linear init; a detector only its size). */
function freshModel(name: string, options: TrainOptions): TrainedModelConfig {
  if (isDetectorName(name)) {
    if (options.dropout !== undefined) throw new ValidationError('--dropout: the detector has no dropout');
    return detectorConfig(name, options.size !== undefined ? { imageSize: options.size } : {});
  }
  if (isCnnName(name)) return modelConfig(name, sharedOverrides(options));
  return vitConfig(name, { ...sharedOverrides(options), ...vitOverrides(options), linearInit: options.linearInit });
}

export function planToParams(plan: RunPlan, extra: Record<string, unknown>): Record<string, unknown> {
  return { ...plan.options, model_config: plan.model, ...(plan.lineage ? { lineage: plan.lineage } : {}), ...extra };
}

/** The plan of a stored run (its params), exactly as it was started. */
export function planFromParams(params: Record<string, unknown>): RunPlan {
  const keys = Object.keys(trainOptionsSchema.shape);
  const parsed = parseTrainOptions(Object.fromEntries(Object.entries(params).filter(([k]) => keys.includes(k))));
  const model = params.model_config as TrainedModelConfig | undefined;
  if (!model || !parsed.dataset || !parsed.model || !parsed.size) throw new ValidationError("the run's params are not those of a secondread training run");
  // A run's params hold its resolved options; the recipe only fills what a run stored by an older version lacks.
  const options = applyRecipe(parsed, parsed.model, { architecture: false });
  const lineage = params.lineage as Lineage | undefined;
  const plan: RunPlan = { options: { ...options, dataset: parsed.dataset, model: parsed.model, size: parsed.size, task: taskOf(parsed) }, model };
  if (lineage) {
    plan.lineage = lineage;
    plan.baseDataset = lineage.base_dataset ?? undefined;
  }
  return plan;
}
