// One simulation: the seed's production pipeline made real. The images of a dataset split are replayed
// as studies through the HTTP API — intake by an ml-engineer (with the image's dataset origin and
// truth class), reader A's blinded view, image and read, reader B's read when the policy asks for it —
// by three users made for the run, whose tokens are revoked at the end whatever happens. Then the
// server's metrics over the run's window are read, every study's image is looked up in the object
// store, and the report is written.
import { randomBytes } from 'node:crypto';

import { describeError, SecondreadError, ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/ids.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { noProgress, type ProgressFn } from '../core/progress.js';
import { CLASS_MODALITY } from '../data/classes.js';
import { getVersion } from '../data/datasets/repository.js';
import type { ManifestImage } from '../data/datasets/types.js';
import { splitImages } from '../monitoring/evaluations/run.js';
import type { EvaluationSplit } from '../monitoring/evaluations/types.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { StudyView } from '../workflow/blinding.js';
import { DEFAULT_ECONOMICS, type WorkflowMetrics } from '../workflow/metrics.js';
import { type ConfusionPattern, SimulatedReader } from '../workflow/simulated-reader.js';
import type { UserStore } from '../workflow/users.js';
import { ApiCallError, ApiClient } from './client.js';
import { type SimulationRecord, type SimulationReport, type StudyFailure, writeReport } from './report.js';
import { realTimer, runSchedule, type Timer, validateScheduleOptions } from './scheduler.js';
import type { StudyOutcome } from './tally.js';

export interface SimulationOptions {
  /** The run's id (newSimulationId): names its users and, by default, its report directory. */
  id: string;
  /** A full dataset version id (resolve prefixes before). */
  datasetVersion: string;
  split: EvaluationSplit;
  /** Replay at most this many images (null: the whole split). */
  limit: number | null;
  /** Skip this many images of the replay order first (a scenario's stream continues where its last phase stopped). */
  offset?: number;
  /**
   * Continue from the start of the replay order once its end is reached, until `limit` studies (each replay a new
   * study). A scenario's streams wrap, so how many studies a phase gets never depends on how many an earlier phase
   * happened to consume before its rollout ended (a timing matter).
   */
  wrap?: boolean;
  rate: number | null;
  concurrency: number;
  maxSeconds: number | null;
  maxFailures: number;
  readerA: { accuracy: number; confusion: ConfusionPattern; seed: number };
  readerB: { accuracy: number; confusion: ConfusionPattern; seed: number };
  /** Seconds between reads of GET /v1/workflow/metrics during the run (for the over-time charts). */
  metricsEverySeconds: number;
  outDir: string;
  /** Per HTTP request. */
  requestTimeoutMs?: number;
}

export interface SimulationDeps {
  db: Db;
  objects: ObjectStore;
  users: Pick<UserStore, 'addUser' | 'revokeToken' | 'disableUser'>;
  /** The API to drive (loopback) and what the report says about it. */
  server: { url: string; inProcess: boolean; note: string | null };
  logger?: Logger;
  timer?: Timer;
  onProgress?: ProgressFn;
  /** Aborted: start no more studies, finish those in flight, write the report. */
  stop?: AbortSignal;
  /** Aborted: cut the studies in flight short too. */
  abort?: AbortSignal;
}

/** A study that failed part-way: the stage, and the study id when intake had already created it. */
class StudyStageError extends SecondreadError {
  constructor(
    readonly stage: string,
    readonly studyId: string | null,
    cause: unknown,
  ) {
    super('simulation_step_failed', `${stage}: ${describeError(cause)}`, 502, { stage, studyId }, { cause });
  }
}

/** The replay order: by sha256 — fixed for a dataset version, and classes mixed (the manifest's key order groups them). */
export function replayOrder(images: readonly ManifestImage[], limit: number | null, offset = 0, wrap = false): ManifestImage[] {
  const sorted = [...images].sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
  if (!wrap || limit === null || sorted.length === 0) {
    const rest = sorted.slice(offset);
    return limit === null ? rest : rest.slice(0, limit);
  }
  return Array.from({ length: limit }, (_, i) => sorted[(offset + i) % sorted.length]!);
}

/** `sim-<time><random>`: unique per run, and a valid prefix of user names. */
export function newSimulationId(): string {
  return `sim-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Three users for one run, names unique per run (`<run id>-<role>`). */
function runUserNames(runId: string) {
  return { engineer: `${runId}-engineer`, reader: `${runId}-reader`, adjudicator: `${runId}-adjudicator` } as const;
}

function contentTypeOf(bytes: Uint8Array): string {
  return bytes[0] === 0x89 && bytes[1] === 0x50 ? 'image/png' : 'image/jpeg';
}

/** Reader A's view before A's read must carry nothing of the model (docs/workflow.md, "Blinding"). */
function isBlinded(v: StudyView): boolean {
  return v.blinded === true && v.reads.model === undefined && v.model === undefined && v.decision === undefined;
}

export async function runSimulation(deps: SimulationDeps, o: SimulationOptions): Promise<SimulationReport> {
  const logger = deps.logger ?? silentLogger;
  const timer = deps.timer ?? realTimer;
  const onProgress = deps.onProgress ?? noProgress;
  validateScheduleOptions({ rate: o.rate, concurrency: o.concurrency, maxSeconds: o.maxSeconds, maxFailures: o.maxFailures });
  if (!(o.metricsEverySeconds > 0)) throw new ValidationError('metrics interval must be a positive number of seconds');
  const readerA = new SimulatedReader(o.readerA);
  const readerB = new SimulatedReader(o.readerB);

  const version = await getVersion(deps.db, o.datasetVersion);
  if (version.status !== 'ready') throw new ValidationError(`dataset version '${version.id}' is ${version.status}, not ready`);
  const images = await splitImages(deps.db, version.id, o.split);
  if (images.length === 0) throw new ValidationError(`split '${o.split}' of dataset version '${version.id}' has no images`);
  const replay = replayOrder(images, o.limit, o.offset ?? 0, o.wrap ?? false);
  if (replay.length === 0) throw new ValidationError(`split '${o.split}' of dataset version '${version.id}' has no images after the first ${o.offset ?? 0}`);

  const runId = o.id;
  if (!/^sim-[a-z0-9]{1,40}$/.test(runId)) throw new ValidationError(`simulation id must be sim-<lower-case letters and digits>, got '${runId.slice(0, 60)}'`);
  const names = runUserNames(runId);
  const created: { name: string; tokenId: string }[] = [];
  const startedAt = new Date();
  try {
    const clientFor = async (name: string, role: string) => {
      const { token, tokenId } = await deps.users.addUser({ name, role, label: `simulation ${runId}` });
      created.push({ name, tokenId });
      return new ApiClient({ baseUrl: deps.server.url, token, timeoutMs: o.requestTimeoutMs });
    };
    const engineer = await clientFor(names.engineer, 'ml-engineer');
    const reader = await clientFor(names.reader, 'reader');
    const adjudicator = await clientFor(names.adjudicator, 'adjudicator');
    const since = startedAt.toISOString();
    logger.info({ runId, datasetVersion: version.id, split: o.split, studies: replay.length, url: deps.server.url }, 'simulation starting');

    const study = async (img: ManifestImage, index: number, abort: AbortSignal | undefined, t0: number): Promise<StudyOutcome> => {
      let stage = 'load';
      let studyId: string | null = null;
      try {
        const bytes = await deps.objects.getBytes(img.objectKey);
        if (sha256Hex(bytes) !== img.sha256) throw new ValidationError(`dataset image ${img.objectKey} does not match its manifest sha256`);
        stage = 'intake';
        const intake = await engineer.createStudy(
          {
            image: bytes,
            contentType: contentTypeOf(bytes),
            modality: CLASS_MODALITY[img.class],
            dataset: { version: version.id, sha256: img.sha256, truthClass: img.class },
          },
          abort,
        );
        studyId = intake.id;
        stage = 'reader_view';
        const blinded = isBlinded(await reader.getStudy(studyId, abort));
        stage = 'reader_image';
        const served = await reader.getStudyImage(studyId, abort);
        stage = 'read_a';
        const labelA = readerA.read(img.sha256, img.class);
        const afterA = await reader.commitRead(studyId, labelA, abort);
        if (!afterA.decision) throw new ValidationError(`study ${studyId} has no decision after read A (status ${afterA.status})`);
        let afterB: StudyView | null = null;
        if (afterA.status === 'awaiting_b') {
          stage = 'read_b';
          afterB = await adjudicator.commitRead(studyId, readerB.read(img.sha256, img.class), abort);
        }
        const final = afterB ?? afterA;
        const m = intake.reads.model;
        return {
          index,
          key: img.sha256,
          truth: img.class,
          modality: CLASS_MODALITY[img.class],
          studyId,
          imageKey: intake.imageKey,
          model: intake.model && m ? { name: intake.model.name, version: intake.model.version, top: m.label } : null,
          labelA,
          decision: afterA.decision.decision as StudyOutcome['decision'],
          reasons: afterA.decision.reasons,
          qa: afterA.decision.qa,
          policyId: afterA.decision.policyId,
          labelB: afterB?.reads.B?.label ?? null,
          finalLabel: final.finalLabel ?? '',
          blindedBeforeA: blinded,
          imageRoundTrip: sha256Hex(served.bytes) === img.sha256,
          startedMs: 0,
          endedMs: timer.now() - t0,
        };
      } catch (err) {
        throw new StudyStageError(stage, studyId, err);
      }
    };

    // The server's figures during the run, for the over-time charts (the final read comes after).
    const snapshots: SimulationRecord['serverMetrics']['snapshots'] = [];
    const t0 = timer.now();
    const polling = new AbortController();
    const poll = (async () => {
      for (;;) {
        await timer.sleep(o.metricsEverySeconds * 1000, polling.signal);
        if (polling.signal.aborted) return;
        try {
          snapshots.push({ seconds: (timer.now() - t0) / 1000, metrics: await engineer.workflowMetrics(since, polling.signal) });
        } catch (err) {
          if (!polling.signal.aborted) logger.warn({ err: describeError(err) }, 'reading the workflow metrics during the run failed');
        }
      }
    })();

    let schedule;
    try {
      onProgress({ phase: 'simulate', done: 0, total: replay.length });
      schedule = await runSchedule(replay, (img, index, abort) => study(img, index, abort, t0), {
        rate: o.rate,
        concurrency: o.concurrency,
        maxSeconds: o.maxSeconds,
        maxFailures: o.maxFailures,
        stop: deps.stop,
        abort: deps.abort,
        timer,
        onSettled: (s, c) => {
          if (!s.ok) logger.warn({ index: s.index, err: describeError(s.error) }, 'simulated study failed');
          onProgress({ phase: 'simulate', done: c.succeeded + c.failed, total: replay.length, info: { failed: c.failed } });
        },
      });
    } finally {
      polling.abort();
      await poll;
    }

    const outcomes: StudyOutcome[] = [];
    const failures: StudyFailure[] = [];
    for (const s of schedule.settled) {
      if (s.ok) outcomes.push({ ...s.value, startedMs: s.startedMs, endedMs: s.endedMs });
      else {
        const e = s.error instanceof StudyStageError ? s.error : new StudyStageError('unknown', null, s.error);
        const cause =
          e.cause instanceof ApiCallError && e.cause.status === 401 && !deps.server.inProcess
            ? ' (the server does not know the simulation users: it must use the same database as this configuration)'
            : '';
        failures.push({
          index: s.index,
          key: replay[s.index]!.sha256,
          stage: e.stage,
          studyId: e.studyId,
          message: `${e.cause instanceof ApiCallError ? e.cause.message : describeError(e.cause)}${cause}`,
        });
      }
    }
    outcomes.sort((a, b) => a.index - b.index);
    failures.sort((a, b) => a.index - b.index);

    let final: WorkflowMetrics | null = null;
    let metricsError: string | null = null;
    try {
      final = await engineer.workflowMetrics(since);
      snapshots.push({ seconds: (timer.now() - t0) / 1000, metrics: final });
    } catch (err) {
      metricsError = describeError(err);
    }

    // Every completed study's image, where intake stored it: the production capture.
    const missing: string[] = [];
    for (const x of outcomes) {
      const info = await deps.objects.head(x.imageKey);
      if (!info || info.size !== replay[x.index]!.bytes) missing.push(x.studyId);
    }

    const endedAt = new Date();
    const record: SimulationRecord = {
      id: runId,
      startedAt: since,
      endedAt: endedAt.toISOString(),
      elapsedSeconds: (endedAt.getTime() - startedAt.getTime()) / 1000,
      dataset: { version: version.id, split: o.split, splitSize: images.length, replayed: replay.length },
      server: deps.server,
      settings: { rate: o.rate, concurrency: o.concurrency, maxSeconds: o.maxSeconds, limit: o.limit, readerA: { ...o.readerA }, readerB: { ...o.readerB } },
      users: [names.engineer, names.reader, names.adjudicator],
      schedule: {
        stoppedBy: schedule.stoppedBy,
        started: schedule.started,
        completed: schedule.succeeded,
        failed: schedule.failed,
        notStarted: schedule.notStarted,
      },
      outcomes,
      failures,
      capture: {
        store: deps.objects.describe(),
        checked: outcomes.length,
        found: outcomes.length - missing.length,
        missing,
        note: deps.server.inProcess ? null : "looked up in this configuration's object store, which the server at --url must share",
      },
      serverMetrics: { final, error: metricsError, snapshots },
      economics: final?.savings.economics ?? DEFAULT_ECONOMICS,
      economicsSource: final ? 'server' : 'default',
    };
    return await writeReport(o.outDir, record);
  } finally {
    // The run's users can do nothing after it: tokens revoked, accounts disabled.
    for (const u of created) {
      await deps.users
        .revokeToken(u.tokenId)
        .catch((err: unknown) => logger.warn({ user: u.name, err: describeError(err) }, 'could not revoke a simulation token'));
      await deps.users
        .disableUser(u.name)
        .catch((err: unknown) => logger.warn({ user: u.name, err: describeError(err) }, 'could not disable a simulation user'));
    }
  }
}
