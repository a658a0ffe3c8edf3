// A drift check: a production window of a model version (by count or by time, one modality or all) against the
// version's reference profile. The outcome is recorded in drift_checks (with the label-free accuracy estimate beside
// the realized agreement with reader A) and, when drift is detected, raised as a DriftAlarm.
import { type Clock, systemClock } from '../../core/clock.js';
import { SecondreadError, ValidationError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import type { Db } from '../../storage/db.js';
import type { ModelRegistry } from '../../tracking/registry.js';
import { alarmOfCheck, type DriftAlarms } from './alarms.js';
import { compareWindow, expectedAccuracy, type ReferenceSample } from './compare.js';
import { loadProfile, profileEmbeddings, type ReferenceProfile } from './profile.js';
import { checkExists, insertCheck, windowObservations } from './store.js';
import type { DriftCheck, DriftObservation, WindowModality, WindowSpec } from './types.js';

export const DEFAULT_ALPHA = 0.05;
/** A window with fewer observations is not tested (every test would be skipped or powerless). */
export const MIN_WINDOW = 20;

export class DriftWindowTooSmallError extends SecondreadError {
  constructor(n: number, min: number) {
    super('drift_window_too_small', `the window holds ${n} model reads; a drift check needs at least ${min}`, 409, { observations: n, minimum: min });
  }
}

/** A check with this id (a scheduled check's slot, schedule.ts) was already recorded: another process ran it. */
export class DriftCheckRecordedError extends SecondreadError {
  constructor(id: string) {
    super('drift_check_recorded', `drift check ${id} was already recorded (by another process)`, 409, { id });
  }
}

export interface DriftCheckRequest {
  /** The check's id (default: a new one). A scheduled check derives it from its slot, so only one process records it. */
  id?: string;
  model: string;
  /** Default: the version `production` points at, else the latest. */
  version?: number;
  modality?: WindowModality;
  window: WindowSpec;
  alpha?: number;
  permutations?: number;
  by: string;
}

export interface DriftCheckDeps {
  db: Db;
  registry: ModelRegistry;
  alarms?: DriftAlarms;
  clock?: Clock;
  /** What a gauge exporter (monitoring/metrics.ts) does with every check. */
  onCheck?: (c: DriftCheck) => void;
}

export function assertWindow(w: WindowSpec): WindowSpec {
  if (w.kind === 'count' && !(Number.isInteger(w.size) && w.size >= MIN_WINDOW && w.size <= 100_000))
    throw new ValidationError(`a count window holds ${MIN_WINDOW}…100000 reads, got ${String(w.size)}`);
  if (w.kind === 'time' && !(Number.isFinite(w.seconds) && w.seconds >= 60 && w.seconds <= 366 * 86400))
    throw new ValidationError(`a time window is 60 s … 366 days, got ${String(w.seconds)} s`);
  return w;
}

/** The profile rows of one modality (all rows for 'all'), as a comparison's reference side. */
export function referenceSample(p: ReferenceProfile, modality: WindowModality): ReferenceSample {
  const rows = modality === 'all' ? p.rows : p.rows.filter((r) => r.modality === modality);
  return {
    classes: p.classes,
    topProbability: rows.map((r) => r.topProbability),
    topClass: rows.map((r) => r.topClass),
    image: rows.map((r) => r.image),
    embeddings: profileEmbeddings(rows),
  };
}

export async function runDriftCheck(deps: DriftCheckDeps, req: DriftCheckRequest): Promise<DriftCheck> {
  const window = assertWindow(req.window);
  const alpha = req.alpha ?? DEFAULT_ALPHA;
  if (!(alpha > 0 && alpha < 0.5)) throw new ValidationError(`alpha must be in (0, 0.5), got ${alpha}`);
  const modality = req.modality ?? 'all';
  const version = req.version ?? (await deps.registry.aliases(req.model)).production ?? (await deps.registry.resolve(req.model)).version;
  const mv = await deps.registry.resolve(req.model, { version });
  const profile = await loadProfile(deps.registry, mv.name, mv.version);
  const now = (deps.clock ?? systemClock).now();
  const win = await windowObservations(deps.db, { model: mv.name, version: mv.version, modality, window, now });
  if (win.length < MIN_WINDOW) throw new DriftWindowTooSmallError(win.length, MIN_WINDOW);
  const ref = referenceSample(profile, modality);
  if (ref.topProbability.length === 0) throw new ValidationError(`the reference profile of ${mv.name} v${mv.version} has no ${modality} images`);
  const cmp = compareWindow(ref, win, { alpha, permutations: req.permutations });
  const agreement = await readerAgreement(deps.db, win);
  const check: DriftCheck = {
    id: req.id ?? newId('drc_'),
    model: mv.name,
    version: mv.version,
    modality,
    window: { kind: window.kind, start: win[0]!.at, end: win[win.length - 1]!.at, observations: win.length },
    alpha,
    correction: 'holm',
    tests: cmp.tests,
    skipped: cmp.skipped,
    detected: cmp.detected,
    estimatedAccuracy: expectedAccuracy(win),
    realizedAgreement: agreement.reads > 0 ? agreement.agree / agreement.reads : null,
    agreementReads: agreement.reads,
    createdBy: req.by,
    createdAt: now.toISOString(),
  };
  try {
    await insertCheck(deps.db, check);
  } catch (err) {
    if (req.id !== undefined && (await checkExists(deps.db, req.id))) throw new DriftCheckRecordedError(req.id);
    throw err;
  }
  deps.onCheck?.(check);
  if (check.detected) await deps.alarms?.emit(alarmOfCheck(check));
  return check;
}

/** How many of the window's studies reader A has read, and in how many A's label equals the model's top class. */
export async function readerAgreement(db: Db, win: readonly DriftObservation[]): Promise<{ reads: number; agree: number }> {
  const top = new Map(win.flatMap((w) => (w.studyId ? [[w.studyId, w.topClass] as const] : [])));
  const ids = [...top.keys()];
  let reads = 0;
  let agree = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('reads')
      .select(['study_id', 'label'])
      .where('reader', '=', 'A')
      .where('study_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) {
      reads++;
      if (r.label === top.get(r.study_id)) agree++;
    }
  }
  return { reads, agree };
}
