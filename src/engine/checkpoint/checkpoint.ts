// Training checkpoints: every tensor of the training state (parameters, buffers, optimizer state, keyed by their
// graph input names) plus the step, the session RNG and free-form configuration, in one safetensors file written
// atomically. Loading it into a fresh session continues the run bit for bit (see TrainSession).
import { readFile } from 'node:fs/promises';

import { EngineError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { decodeSafetensors, encodeSafetensors, type StoredTensor } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'secondread.engine.checkpoint/1';

export interface Checkpoint {
  tensors: Map<string, StoredTensor>;
  /** Optimizer steps taken so far (the next step has this 0-based index). */
  step: number;
  /** Session RNG state (dropout noise), if the session has one. */
  rng?: string;
  optimizer?: { name: string; config: Readonly<Record<string, unknown>> };
  /** JSON-serializable caller configuration (model config, schedule, …). */
  config?: unknown;
}

export function encodeCheckpoint(ck: Checkpoint): Buffer {
  if (!Number.isSafeInteger(ck.step) || ck.step < 0)
    throw new EngineError('invalid_argument', `checkpoint step must be a non-negative integer, got ${ck.step}`);
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, step: String(ck.step) };
  if (ck.rng !== undefined) metadata.rng = ck.rng;
  if (ck.optimizer) metadata.optimizer = JSON.stringify(ck.optimizer);
  if (ck.config !== undefined) metadata.config = JSON.stringify(ck.config);
  return encodeSafetensors(ck.tensors, metadata);
}

export function decodeCheckpoint(buf: Uint8Array, source = 'checkpoint'): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(buf);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new EngineError(
      'invalid_argument',
      `${source} is not an engine checkpoint (format ${JSON.stringify(metadata.format ?? null)}, expected ${CHECKPOINT_FORMAT})`,
    );
  }
  const step = Number(metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) throw new EngineError('invalid_argument', `${source}: invalid step ${JSON.stringify(metadata.step)}`);
  const ck: Checkpoint = { tensors, step };
  if (metadata.rng !== undefined) ck.rng = metadata.rng;
  try {
    if (metadata.optimizer !== undefined) ck.optimizer = JSON.parse(metadata.optimizer) as Checkpoint['optimizer'];
    if (metadata.config !== undefined) ck.config = JSON.parse(metadata.config) as unknown;
  } catch {
    throw new EngineError('invalid_argument', `${source}: optimizer/config metadata is not valid JSON`);
  }
  return ck;
}

/** Writes the checkpoint to `path` atomically (temp file + fsync + rename). */
export async function saveCheckpoint(path: string, ck: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(ck));
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EngineError('invalid_argument', `cannot read checkpoint ${path}: ${code ?? String(err)}`);
  }
  return decodeCheckpoint(buf, path);
}
