// Loading a registered version for inference: its ONNX bytes from the object store, checked against the
// sha256 recorded at registration and cached on local disk (by name / version / sha256, so a restart
// does not download again), then opened as a LoadedModel. Kept apart from the registry, which only
// records versions and aliases; it sits in tracking (not serving) because evaluations in monitoring/,
// below serving in the layer map, load versions too.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { ObjectStore } from '../storage/object-store.js';
import { InvalidModelError } from './errors.js';
import { createLoadedModel, type LoadedModel } from './loaded-model.js';
import type { ModelVersion } from './model-version.js';

export interface LoadOptions {
  /** Keep downloaded model files here (by name / version / sha256) so a restart does not download again. */
  cacheDir?: string;
  /** ONNX Runtime intra-op threads (default 1). */
  threads?: number;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The version's ONNX bytes, checked against the sha256 recorded at registration. */
export async function modelBytes(objects: ObjectStore, mv: ModelVersion, o: LoadOptions = {}): Promise<Uint8Array> {
  const cached = o.cacheDir ? join(o.cacheDir, mv.name, String(mv.version), `${mv.onnxSha256}.onnx`) : undefined;
  if (cached) {
    const hit = await readFile(cached).catch(() => undefined);
    if (hit && sha256(hit) === mv.onnxSha256) return hit;
  }
  const bytes = await objects.getBytes(mv.onnxKey);
  if (sha256(bytes) !== mv.onnxSha256)
    throw new InvalidModelError(`${mv.onnxKey} does not match the sha256 recorded at registration: the stored model was altered or corrupted`, {
      key: mv.onnxKey,
    });
  if (cached) {
    // Write-then-rename: a concurrent loader never reads a half-written cache file.
    await mkdir(join(o.cacheDir!, mv.name, String(mv.version)), { recursive: true });
    const tmp = `${cached}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, cached);
  }
  return bytes;
}

/** A registered version ready to predict. */
export async function loadModelVersion(objects: ObjectStore, mv: ModelVersion, o: LoadOptions = {}): Promise<LoadedModel> {
  return createLoadedModel({ name: mv.name, version: mv.version, bytes: await modelBytes(objects, mv, o), metadata: mv.metadata, threads: o.threads });
}
