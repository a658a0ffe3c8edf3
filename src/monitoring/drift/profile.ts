// The reference profile of a model version: what its validation split looked like to it. For every image of the
// split (of the model's classes): the modality, the model's top class and calibrated top probability (softmax with
// the version's temperature, exactly as serving computes them), the image statistics from the dataset manifest
// (measured by the ETL with the same function observe.ts uses in production) and, when the model exports one, its
// pooled embedding. Stored as the registry artifact `drift-profile.json` of the version.
import { z } from 'zod';

import { type Clock, systemClock } from '../../core/clock.js';
import { SecondreadError, ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { rankClasses, softmaxRows } from '../../core/probabilities.js';
import { CLASS_MODALITY, isSecondreadClass } from '../../data/classes.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';
import type { ModelRegistry, ModelVersion } from '../../tracking/registry.js';
import { modelOutputs, partitionByClass, splitImages } from '../evaluations/run.js';
import { decodeEmbedding, encodeEmbedding } from './store.js';

export const PROFILE_ARTIFACT = 'drift-profile.json';
/** Embeddings kept in a profile (an even stride over the split): enough for MMD, bounded in size. */
export const MAX_PROFILE_EMBEDDINGS = 1000;

const rowSchema = z.object({
  modality: z.string(),
  topClass: z.string(),
  topProbability: z.number().min(0).max(1),
  trueClass: z.string(),
  image: z.object({ mean: z.number(), std: z.number(), width: z.number().int(), height: z.number().int() }),
  embedding: z.string().optional(),
});

const profileSchema = z.object({
  format: z.literal(1),
  model: z.string(),
  version: z.number().int(),
  datasetVersion: z.string(),
  split: z.string(),
  classes: z.array(z.string()),
  temperature: z.number(),
  createdAt: z.string(),
  embeddingDim: z.number().int().nullable(),
  rows: z.array(rowSchema),
});

export type ReferenceProfile = z.infer<typeof profileSchema>;
export type ProfileRow = z.infer<typeof rowSchema>;

/** The version has no stored profile: `secondread drift profile` computes one. */
export class NoDriftProfileError extends SecondreadError {
  constructor(model: string, version: number) {
    super(
      'no_drift_profile',
      `model ${model} v${version} has no drift reference profile; compute it with \`secondread drift profile ${model} --version ${version}\``,
      404,
      {
        model,
        version,
      },
    );
  }
}

export interface ProfileDeps {
  db: Db;
  objects: ObjectStore;
  registry: ModelRegistry;
  logger: Logger;
  clock?: Clock;
  batchSize?: number;
  threads?: number;
  cacheDir?: string;
}

/** The modality of a dataset class ('unknown' for a class outside the nine). */
export function modalityOfClass(c: string): string {
  return isSecondreadClass(c) ? CLASS_MODALITY[c] : 'unknown';
}

/**
 * Runs the version over its validation split (or `split` of `datasetVersion`, default the dataset version it was
 * trained on) and stores the profile as the version's registry artifact.
 */
export async function computeProfile(
  deps: ProfileDeps,
  mv: ModelVersion,
  o: { datasetVersion?: string; split?: 'val' | 'test'; signal?: AbortSignal } = {},
): Promise<ReferenceProfile> {
  const datasetVersion = o.datasetVersion ?? mv.datasetVersion;
  if (!datasetVersion)
    throw new ValidationError(`model ${mv.name} v${mv.version} names no dataset version (an import?): give the dataset version to profile it on`);
  const split = o.split ?? 'val';
  const { classes, temperature } = mv.metadata;
  const { scored } = partitionByClass(await splitImages(deps.db, datasetVersion, split), classes);
  if (scored.length < 20)
    throw new ValidationError(
      `split '${split}' of ${datasetVersion} has ${scored.length} images of the model's classes; a reference profile needs at least 20`,
    );
  const model = await deps.registry.loadForInference(mv.name, { version: mv.version }, { cacheDir: deps.cacheDir, threads: deps.threads });
  let out: Awaited<ReturnType<typeof modelOutputs>>;
  try {
    out = await modelOutputs(model, deps.objects, scored, { batchSize: deps.batchSize ?? 16, embeddings: true, signal: o.signal });
  } finally {
    await model.close();
  }
  const probs = softmaxRows(out.logits, classes.length, temperature);
  const stride = Math.max(1, Math.ceil(scored.length / MAX_PROFILE_EMBEDDINGS));
  const rows: ProfileRow[] = scored.map((img, r) => {
    const top = rankClasses(classes, probs, r)[0]!;
    const emb = out.embeddings && out.dim && r % stride === 0 ? encodeEmbedding(out.embeddings.subarray(r * out.dim, (r + 1) * out.dim)) : undefined;
    return {
      modality: modalityOfClass(img.class),
      topClass: top.class,
      topProbability: top.probability,
      trueClass: img.class,
      image: { mean: img.meanIntensity, std: img.stdIntensity, width: img.width, height: img.height },
      ...(emb ? { embedding: emb } : {}),
    };
  });
  const profile: ReferenceProfile = {
    format: 1,
    model: mv.name,
    version: mv.version,
    datasetVersion,
    split,
    classes: [...classes],
    temperature,
    createdAt: (deps.clock ?? systemClock).now().toISOString(),
    embeddingDim: out.dim,
    rows,
  };
  await saveProfile(deps.registry, profile);
  deps.logger.info({ model: mv.name, version: mv.version, datasetVersion, split, images: rows.length, embeddingDim: out.dim }, 'drift profile stored');
  return profile;
}

export async function saveProfile(registry: ModelRegistry, p: ReferenceProfile): Promise<void> {
  await registry.putVersionArtifact(p.model, p.version, PROFILE_ARTIFACT, JSON.stringify(p));
}

export async function loadProfile(registry: ModelRegistry, model: string, version: number): Promise<ReferenceProfile> {
  const bytes = await registry.getVersionArtifact(model, version, PROFILE_ARTIFACT);
  if (!bytes) throw new NoDriftProfileError(model, version);
  const parsed = profileSchema.safeParse(JSON.parse(bytes.toString('utf8')));
  if (!parsed.success) throw new ValidationError(`the drift profile of ${model} v${version} is malformed: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

/** A profile's embeddings as vectors (rows without one are skipped). */
export function profileEmbeddings(rows: readonly ProfileRow[]): Float32Array[] {
  return rows.flatMap((r) => (r.embedding ? [decodeEmbedding(r.embedding)] : []));
}

/** Summary figures of a profile, for `drift status` and the UI. */
export function profileSummary(p: ReferenceProfile): {
  images: number;
  accuracy: number;
  expectedAccuracy: number;
  modalityMix: Record<string, number>;
  predictedClasses: Record<string, number>;
  embeddings: number;
} {
  const count = (f: (r: ProfileRow) => string): Record<string, number> => {
    const m: Record<string, number> = {};
    for (const r of p.rows) m[f(r)] = (m[f(r)] ?? 0) + 1;
    return m;
  };
  const n = p.rows.length;
  return {
    images: n,
    accuracy: p.rows.filter((r) => r.topClass === r.trueClass).length / n,
    expectedAccuracy: p.rows.reduce((s, r) => s + r.topProbability, 0) / n,
    modalityMix: count((r) => r.modality),
    predictedClasses: count((r) => r.topClass),
    embeddings: p.rows.filter((r) => r.embedding).length,
  };
}
