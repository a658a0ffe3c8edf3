// Retraining (the seed's loop): start from a registered model's weights — the best checkpoint of the run that
// produced it — and train on more data. The child run records its parent run and the lineage.
import { ValidationError } from '../core/errors.js';
import { type Checkpoint, decodeCheckpoint, type StoredTensor } from '../engine/index.js';
import type { Tracker } from '../tracking/index.js';
import { type CheckpointConfig, readCheckpointConfig } from './state.js';

/** Artifact names the trainer writes (docs/training.md). */
export const ARTIFACTS = {
  last: 'checkpoint-last.safetensors',
  best: 'checkpoint-best.safetensors',
  model: 'model.onnx',
  metrics: 'metrics.json',
  confusion: 'confusion-matrix.png',
  curves: 'curves.png',
} as const;

export interface ModelRef {
  name: string;
  version?: number;
  alias?: string;
}

/** `name`, `name:3` or `name@production` (no version or alias: the latest version). */
export function parseModelRef(ref: string): ModelRef {
  const m = /^([^:@\s]+)(?::(\d+)|@([a-z]+))?$/.exec(ref.trim());
  if (!m) throw new ValidationError(`invalid model reference '${ref}': use name, name:version or name@alias`);
  const out: ModelRef = { name: m[1] as string };
  if (m[2] !== undefined) out.version = Number(m[2]);
  if (m[3] !== undefined) out.alias = m[3];
  return out;
}

/** What the trainer needs from the registry: which run produced a model version. */
export interface ModelResolver {
  resolve(name: string, ref: { version?: number; alias?: string }): Promise<{ version: number; runId: string | null }>;
}

export interface RunWeights {
  runId: string;
  /** Parameters and buffers. */
  weights: Map<string, StoredTensor>;
  config: CheckpointConfig;
}

/** A trained run's weights: its best checkpoint, or its last one when it never evaluated. */
export async function loadRunWeights(tracker: Tracker, runId: string): Promise<RunWeights> {
  let ck: Checkpoint;
  if (await tracker.hasArtifact(runId, ARTIFACTS.best))
    ck = decodeCheckpoint(await tracker.getArtifact(runId, ARTIFACTS.best), `run ${runId} ${ARTIFACTS.best}`);
  else if (await tracker.hasArtifact(runId, ARTIFACTS.last))
    ck = decodeCheckpoint(await tracker.getArtifact(runId, ARTIFACTS.last), `run ${runId} ${ARTIFACTS.last}`);
  else throw new ValidationError(`run '${runId}' has no checkpoint to start from`);
  const config = readCheckpointConfig(ck.config, `run ${runId}'s checkpoint`);
  const weights = new Map([...ck.tensors].filter(([name]) => !/^(adamw|sgd)\./.test(name)));
  return { runId, weights, config };
}

export interface BaseModel extends RunWeights {
  ref: string;
  name: string;
  version: number;
  /** The dataset version the base model was trained on. */
  datasetVersion: string | null;
}

export async function loadBaseModel(registry: ModelResolver, tracker: Tracker, ref: string): Promise<BaseModel> {
  const r = parseModelRef(ref);
  const mv = await registry.resolve(r.name, { version: r.version, alias: r.alias });
  if (!mv.runId) throw new ValidationError(`model ${r.name} version ${mv.version} was imported, not trained here: it has no training run to continue from`);
  const run = await tracker.getRun(mv.runId);
  return { ...(await loadRunWeights(tracker, mv.runId)), ref, name: r.name, version: mv.version, datasetVersion: run.datasetVersion };
}
