// The reference profile computed at registration (docs/drift.md "What runs automatically"). Every version
// registered with a dataset version — a trained run's (`models register`), a retrain job's, an import whose
// meta.json names one, a quantized copy of one of those — is profiled on that dataset's validation split right
// after it is committed, exactly as `secondread drift profile` does. Inline, in the registering process: the
// paths that register are already background or long-running (the retrain job, a CLI command after training),
// and the candidate must carry its profile before it can reach production. It never fails the registration: a
// failure is a logged warning and a `failed` computation record that `drift status` shows.
import { z } from 'zod';

import { type Clock, systemClock } from '../../core/clock.js';
import { SecondreadError, ValidationError } from '../../core/errors.js';
import type { ModelRegistry, ModelVersion } from '../../tracking/registry.js';
import { computeProfile, type ProfileDeps } from './profile.js';

/** The version's record of the automatic computation (beside `drift-profile.json`). */
export const PROFILE_COMPUTATION_ARTIFACT = 'drift-profile-status.json';

const computationSchema = z.object({
  state: z.enum(['computing', 'stored', 'failed']),
  datasetVersion: z.string(),
  split: z.literal('val'),
  /** When the state was reached (ISO-8601 UTC). */
  at: z.string(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

/** Where the automatic profile of a version stands: `computing` (since `at`), `stored`, or `failed` with its error. */
export type ProfileComputation = z.infer<typeof computationSchema>;

async function record(deps: Pick<ProfileDeps, 'registry' | 'logger'>, mv: ModelVersion, c: ProfileComputation): Promise<void> {
  try {
    await deps.registry.putVersionArtifact(mv.name, mv.version, PROFILE_COMPUTATION_ARTIFACT, JSON.stringify(c));
  } catch (err) {
    deps.logger.warn({ err, model: mv.name, version: mv.version, state: c.state }, 'could not record the drift profile computation');
  }
}

/**
 * Computes and stores the version's reference profile from the validation split of its dataset version and records
 * how it went. Never throws: null when the version names no dataset version (nothing to profile on) or is a detector (no
 * classifier outputs to profile), else the record.
 */
export async function profileVersion(deps: ProfileDeps, mv: ModelVersion): Promise<ProfileComputation | null> {
  if (mv.datasetVersion === null) {
    deps.logger.info({ model: mv.name, version: mv.version }, 'no drift profile at registration: the version names no dataset version');
    return null;
  }
  if (mv.metadata.detection !== undefined) {
    // The profile describes a classifier's outputs (confidences, predicted classes, embeddings); a detector's boxes
    // have none of them, and its dataset's manifest classes are not its box classes.
    deps.logger.info({ model: mv.name, version: mv.version }, 'no drift profile at registration: the version is a detector');
    return null;
  }
  const clock: Clock = deps.clock ?? systemClock;
  const base = { datasetVersion: mv.datasetVersion, split: 'val' as const };
  await record(deps, mv, { state: 'computing', ...base, at: clock.now().toISOString() });
  let done: ProfileComputation;
  try {
    await computeProfile(deps, mv, { datasetVersion: mv.datasetVersion, split: 'val' });
    done = { state: 'stored', ...base, at: clock.now().toISOString() };
  } catch (err) {
    const error = err instanceof SecondreadError ? { code: err.code, message: err.message } : { code: 'internal', message: (err as Error).message };
    deps.logger.warn({ err, model: mv.name, version: mv.version, datasetVersion: mv.datasetVersion }, 'the drift reference profile could not be computed');
    done = { state: 'failed', ...base, at: clock.now().toISOString(), error };
  }
  await record(deps, mv, done);
  return done;
}

/** Profiles every version `registry` creates from now on (config `drift.profileOnRegister`); returns the unsubscribe. */
export function profileOnRegistration(registry: ModelRegistry, deps: Omit<ProfileDeps, 'registry'>): () => void {
  return registry.onVersionCreated(
    async (mv) => void (await profileVersion({ ...deps, registry }, mv)),
    (err, mv) => deps.logger.warn({ err, model: mv.name, version: mv.version }, 'the drift profile step after registration failed'),
  );
}

/** The version's computation record; null when none was made (registered before, or without a dataset version). */
export async function loadProfileComputation(registry: ModelRegistry, model: string, version: number): Promise<ProfileComputation | null> {
  const bytes = await registry.getVersionArtifact(model, version, PROFILE_COMPUTATION_ARTIFACT);
  if (!bytes) return null;
  const parsed = computationSchema.safeParse(JSON.parse(bytes.toString('utf8')));
  if (!parsed.success) throw new ValidationError(`the drift profile record of ${model} v${version} is malformed: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}
