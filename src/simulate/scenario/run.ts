// A scenario (docs/simulate.md "Scenarios"): the whole feedback loop on the embedded default, driven through the
// same code paths a department's server runs. Setup makes the data and the first production model; the simulator's
// in-process server is then composed as serve composes it (api/compose.ts) with the job queue, the retrain
// triggers, the rollout gate and alias polling; then, in order:
//   1. baseline  — the unshifted set's studies through the HTTP API, one drift check (expected: no alarm);
//   2. shifted   — the shifted set's studies, a drift check every N studies until the alarm fires;
//   3. feedback  — the drift trigger's retrain job builds the feedback dataset from the finalized studies;
//   4. retrain   — the same job trains a child run of production on it (the real job queue);
//   5. protocol  — the candidate is evaluated against the change protocol → staging, its canary starts;
//   6. canary    — the stream continues; the gate judges the live guards, steps the share, promotes;
//   7. bad       — a candidate trained on the feedback set with misaligned labels: rejected by the protocol with reasons;
//   8. degrading — that candidate forced past evaluation by a declared permissive protocol, canaried: the gate
//                  rolls it back automatically;
// then the checks: /metrics, the API routes the UI reads (alias history, rollout, protocol reports) and the audit chain.
// Every phase is timed and its figures kept; a phase whose expectation fails ends the run with that finding.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

import { stringify as toYaml } from 'yaml';

import type { Config } from '../../core/config.js';
import { describeError, SecondreadError, ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { getVersion } from '../../data/datasets/repository.js';
import { buildDataset } from '../../data/etl/build.js';
import { loadDatasetConfig } from '../../data/etl/config.js';
import { synthesizeArchives } from '../../data/synth/index.js';
import type { Job } from '../../jobs/index.js';
import type { RetrainPayload, RetrainResult } from '../../loop/retrain.js';
import { computeProfile, loadProfile, NoDriftProfileError } from '../../monitoring/drift/profile.js';
import type { DriftCheck } from '../../monitoring/drift/types.js';
import { RolloutService } from '../../rollout/index.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { startTraining } from '../../training/index.js';
import { type AuditEntry, listAudit, verifyAuditLog } from '../../workflow/audit.js';
import { UserStore } from '../../workflow/users.js';
import { newSimulationId, runSimulation } from '../run.js';
import { type InProcessServer, startInProcessServer } from '../server.js';
import { permuteLabels } from './corrupt-labels.js';
import type { Scenario, StreamPhase, SyntheticData } from './schema.js';

export const DATASETS_CONFIG = new URL('../../../examples/datasets.yaml', import.meta.url).pathname;

export interface PhaseRecord {
  n: number;
  name: string;
  title: string;
  /** Seconds since the scenario started. */
  startedAt: number;
  seconds: number;
  ok: boolean;
  /** What the phase did, in figures (studies, p-values, job ids, versions, verdicts, …). */
  figures: Record<string, unknown>;
  /** The expectation that failed, when one did. */
  finding: string | null;
}

export interface CheckRecord {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult {
  scenario: string;
  model: string;
  startedAt: string;
  endedAt: string;
  seconds: number;
  /** 1-minute load average at the start and the end (os.loadavg; what `uptime` prints). */
  load: { start: number[]; end: number[]; cpus: number };
  phases: PhaseRecord[];
  checks: CheckRecord[];
  ok: boolean;
  outDir: string;
  /** The /metrics series the checks read (the scenario model's). */
  metrics: string[];
}

export interface ScenarioDeps {
  config: Config;
  logger: Logger;
  db: Db;
  objects: ObjectStore;
  /** One line per phase as it starts and ends (the CLI prints them). */
  say?: (line: string) => void;
}

/** An expectation of a phase that did not hold: the run stops there and the report says so. */
export class ScenarioFindingError extends SecondreadError {
  constructor(message: string) {
    super('scenario_finding', message, 500);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

export interface ScenarioRunOptions {
  outDir: string;
  /** Called after the checks while the server still runs, with a token of an ml-engineer (e.g. a real Prometheus scraping it). */
  beforeClose?: (srv: { url: string; token: string }) => Promise<void>;
}

export async function runScenario(deps: ScenarioDeps, scenario: Scenario, o: ScenarioRunOptions): Promise<ScenarioResult> {
  const doc = scenario.document;
  const say = deps.say ?? (() => undefined);
  if (deps.config.redisUrl) throw new ValidationError('a scenario runs on the embedded default (jobs in this process): unset REDIS_URL / redisUrl for it');
  await mkdir(o.outDir, { recursive: true });
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const loadStart = loadavg();
  const phases: PhaseRecord[] = [];
  const checks: CheckRecord[] = [];
  let metricsSeries: string[] = [];
  const model = doc.model.name;
  const { db, objects, logger } = deps;
  const cacheRoot = join(deps.config.home, 'cache');

  const phase = async (n: number, name: string, title: string, body: (figures: Record<string, unknown>) => Promise<void>): Promise<void> => {
    const figures: Record<string, unknown> = {};
    const at = (Date.now() - t0) / 1000;
    say(`[${n}] ${title} …`);
    const rec: PhaseRecord = { n, name, title, startedAt: round(at, 1), seconds: 0, ok: false, figures, finding: null };
    phases.push(rec);
    try {
      await body(figures);
      rec.ok = true;
    } catch (err) {
      rec.finding = describeError(err);
      throw err;
    } finally {
      rec.seconds = round((Date.now() - t0) / 1000 - at, 1);
      say(`[${n}] ${rec.ok ? 'done' : 'FAILED'} in ${rec.seconds} s${rec.finding ? `: ${rec.finding}` : ''}`);
    }
  };

  const protocolPath = join(o.outDir, 'change-protocol.yaml');
  const forcedPath = join(o.outDir, 'change-protocol-forced.yaml');
  await writeFile(protocolPath, toYaml(scenario.protocol.protocol));
  await writeFile(forcedPath, toYaml(scenario.forcedProtocol.protocol));

  let server: InProcessServer | null = null;
  const datasets = { baseline: '', shifted: '' };
  /** Where each split of the shifted set's stream stands (the stream continues across phases). */
  const streamed = new Map<string, number>();
  let fatal: unknown = null;
  try {
    // ---- 0. setup: data, production v1 (evaluated against the protocol: its own policy), its drift profile ----
    await phase(0, 'setup', 'setup: synthesize and build the baseline and shifted sets, train production v1', async (f) => {
      const registry0 = new ModelRegistry(db, objects, new Tracker(db, objects));
      if ((await registry0.listModels()).some((m) => m.name === model))
        throw new ValidationError(`model '${model}' is already registered here: run a scenario in a fresh SECONDREAD_HOME (or rename model.name)`);
      datasets.baseline = await synthesize(deps, doc.data.baseline, join(o.outDir, 'data', 'baseline'));
      datasets.shifted = await synthesize(deps, doc.data.shifted, join(o.outDir, 'data', 'shifted'));
      f.datasets = { ...datasets };
      const tracker = new Tracker(db, objects);
      const registry = new ModelRegistry(db, objects, tracker);
      const trained = await startTraining(
        { db, objects, tracker, cacheDir: cacheRoot },
        { workers: 0, experiment: 'scenario', name: `${doc.name}-v1`, ...doc.model.train, model: doc.model.preset, dataset: datasets.baseline },
      );
      if (trained.status !== 'finished') throw new ScenarioFindingError(`training production v1 ended ${trained.status}`);
      const mv = await registry.register({ runId: trained.run.id, name: model, by: 'scenario', notes: `scenario ${doc.name}: production v1` });
      f.v1 = { version: mv.version, run: trained.run.id, summary: trained.run.summary };
      const rollout = new RolloutService({ db, objects, registry, logger, cacheDir: join(cacheRoot, 'models') });
      const report = await rollout.evaluate({ model, version: mv.version }, scenario.protocol, { by: 'scenario' });
      f.v1Protocol = { report: report.id, passed: report.passed, failures: report.failures };
      if (!report.passed) throw new ScenarioFindingError(`production v1 does not pass the scenario's own protocol: ${report.failures.join('; ')}`);
      await registry.setAlias(model, 'production', mv.version, {
        by: 'scenario',
        reason: `scenario ${doc.name}: first release (protocol report ${report.id})`,
      });
      // The reference profile (automatic at registration where the drift monitor does it; computed here otherwise).
      try {
        await loadProfile(registry, model, mv.version);
        f.profile = 'present';
      } catch (err) {
        if (!(err instanceof NoDriftProfileError)) throw err;
        const p = await computeProfile({ db, objects, registry, logger, cacheDir: join(cacheRoot, 'models') }, mv);
        f.profile = `computed on ${p.split} of ${p.datasetVersion} (${p.rows.length} images)`;
      }
    });

    // The simulator's server, composed as serve composes it, with the loop configured by the scenario.
    const config: Config = {
      ...deps.config,
      workflow: { ...deps.config.workflow, model },
      retrain: {
        ...deps.config.retrain,
        model,
        onDrift: true,
        everyHours: undefined,
        newLabels: undefined,
        includeAutoFinalized: doc.phases.retrain.includeAutoFinalized,
        checkSeconds: 5,
        protocol: protocolPath,
        startCanary: true,
        train: doc.phases.retrain.train,
      },
    };
    server = await startInProcessServer(
      { config, logger, db, objects },
      { model, loop: { jobs: true, rolloutGateMs: doc.gate.everySeconds * 1000, aliasPollMs: doc.gate.aliasPollSeconds * 1000 } },
    );
    const srv = server;
    const api = srv.api;
    const driftCheck = (by: string): Promise<DriftCheck> =>
      api.drift.check({
        model,
        modality: doc.phases.shifted.modality,
        window: { kind: 'count', size: doc.phases.shifted.window },
        alpha: doc.phases.shifted.alpha,
        by,
      });
    const checkFigures = (c: DriftCheck) => ({
      id: c.id,
      detected: c.detected,
      observations: c.window.observations,
      fired: c.tests.filter((t) => t.detected).map((t) => t.test),
      pAdjusted: Object.fromEntries(c.tests.map((t) => [t.test, round(t.adjustedPValue, 4)])),
      estimatedAccuracy: c.estimatedAccuracy === null ? null : round(c.estimatedAccuracy),
      realizedAgreement: c.realizedAgreement === null ? null : round(c.realizedAgreement),
    });
    const stream = (
      name: string,
      dataset: string,
      ph: { split: string; maxStudies: number; rate?: number },
      extra: { stop?: AbortSignal; onDone?: (done: number) => void } = {},
    ) =>
      streamStudies(deps, srv, doc, {
        name,
        dataset,
        split: ph.split,
        maxStudies: ph.maxStudies,
        rate: ph.rate ?? null,
        outDir: join(o.outDir, 'streams', name),
        streamed,
        ...extra,
      });
    /** A stream that stops once the model's rollout is no longer active (the gate promoted or rolled it back). */
    const canaryStream = async (name: string, ph: StreamPhase) => {
      const stop = new AbortController();
      let done = 0;
      let endedAfter: number | null = null;
      const watch = (async () => {
        while (!stop.signal.aborted) {
          const r = await api.rollout.current(model);
          if (r.status !== 'active') {
            endedAfter = done;
            stop.abort();
            return;
          }
          await sleep(250);
        }
      })();
      try {
        const fig = await stream(name, datasets.shifted, ph, { stop: stop.signal, onDone: (d) => (done = d) });
        return { ...fig, rolloutEndedAfterStudies: endedAfter };
      } finally {
        stop.abort();
        await watch;
      }
    };

    // ---- 1. baseline ----
    await phase(1, 'baseline', 'baseline stream (unshifted set) and a drift check', async (f) => {
      Object.assign(f, await stream('baseline', datasets.baseline, doc.phases.baseline));
      const c = await driftCheck('scenario');
      f.driftCheck = checkFigures(c);
      if (c.detected)
        throw new ScenarioFindingError(`a drift alarm on the unshifted baseline stream (tests ${(f.driftCheck as { fired: string[] }).fired.join(', ')})`);
    });

    // ---- 2. shifted stream until the alarm ----
    await phase(2, 'shifted', 'shifted stream with drift checks until the alarm fires', async (f) => {
      const ph = doc.phases.shifted;
      const stop = new AbortController();
      const looks: ReturnType<typeof checkFigures>[] = [];
      let chain: Promise<void> = Promise.resolve();
      let nextLook = ph.checkEvery;
      let alarm: { studies: number; check: ReturnType<typeof checkFigures> } | null = null;
      const onDone = (done: number) => {
        while (done >= nextLook && !stop.signal.aborted) {
          const at = nextLook;
          nextLook += ph.checkEvery;
          chain = chain.then(async () => {
            if (alarm) return;
            const c = await driftCheck('scenario');
            const fig = { ...checkFigures(c), studies: at };
            looks.push(fig);
            if (c.detected) {
              alarm = { studies: at, check: fig };
              stop.abort();
            }
          });
        }
      };
      Object.assign(f, await stream('shifted', datasets.shifted, ph, { stop: stop.signal, onDone }));
      await chain;
      f.checks = looks;
      f.alarm = alarm;
      if (!alarm) throw new ScenarioFindingError(`no drift alarm within ${String(f.studies)} shifted studies (${looks.length} checks)`);
    });

    const jobOf = async (id: string, timeoutS: number): Promise<Job<RetrainPayload, RetrainResult>> => {
      const deadline = Date.now() + timeoutS * 1000;
      for (;;) {
        const j = (await api.jobs!.get(id)) as Job<RetrainPayload, RetrainResult> | undefined;
        if (j && (j.status === 'succeeded' || j.status === 'failed' || j.status === 'cancelled')) return j;
        if (Date.now() > deadline) throw new ScenarioFindingError(`retrain job ${id} did not finish within ${timeoutS} s (status ${j?.status ?? 'unknown'})`);
        await sleep(500);
      }
    };

    // ---- 3 + 4. the drift trigger's retrain job: feedback dataset, training ----
    let good: Extract<RetrainResult, { status: 'trained' }> | null = null;
    let retrainJob: Job<RetrainPayload, RetrainResult> | null = null;
    await phase(3, 'feedback', 'drift alarm → retrain job enqueued by the drift trigger → feedback dataset from finalized studies', async (f) => {
      const triggers = api.retrainTriggers;
      if (!triggers) throw new ScenarioFindingError('the server started no retrain triggers');
      let jobId: string | null = null;
      for (let i = 0; i < 40 && !jobId; i++) {
        const s = await triggers.state();
        jobId = s.last_trigger === 'drift' ? s.last_job_id : null;
        if (!jobId) await sleep(250);
      }
      if (!jobId) throw new ScenarioFindingError('the drift alarm enqueued no retrain job');
      f.job = jobId;
      retrainJob = await jobOf(jobId, doc.phases.retrain.timeoutSeconds);
      if (retrainJob.status !== 'succeeded') throw new ScenarioFindingError(`retrain job ${jobId} ${retrainJob.status}: ${retrainJob.error?.message ?? ''}`);
      const r = retrainJob.result!;
      if (r.status !== 'trained') throw new ScenarioFindingError(`retrain job ${jobId} trained nothing: ${r.reason}`);
      good = r;
      f.trigger = retrainJob.payload.trigger;
      f.feedback = r.feedback;
      if (r.feedback) {
        const v = await getVersion(db, r.feedback.version);
        const rep = v.report as { labelledBy?: unknown; studies?: number; base?: unknown } | null;
        f.lineage = { labelledBy: rep?.labelledBy ?? null, studies: rep?.studies ?? null, base: rep?.base ?? null };
      }
    });
    await phase(4, 'retrain', 'retrain job: a child run of production trained on the feedback dataset (job queue)', async (f) => {
      const r = good!;
      const j = retrainJob!;
      f.job = {
        id: j.id,
        attempts: j.attempts,
        seconds: j.startedAt && j.finishedAt ? round((Date.parse(j.finishedAt) - Date.parse(j.startedAt)) / 1000, 1) : null,
      };
      f.run = r.run;
      f.candidate = r.candidate;
      f.from = r.production;
      if (r.run.parentRunId !== r.production.runId)
        throw new ScenarioFindingError(`the candidate's run is not a child of production's run (${r.run.parentRunId} vs ${r.production.runId})`);
    });
    await phase(5, 'protocol', 'candidate evaluated against the change protocol → staging → canary started', async (f) => {
      const r = good!;
      const verdict = r.rollout as { passed?: boolean; failures?: string[]; reportId?: string; staging?: number | null; canary?: unknown } | null;
      f.verdict = verdict;
      if (!verdict?.passed)
        throw new ScenarioFindingError(`the retrained candidate was rejected by the protocol: ${(verdict?.failures ?? ['no verdict']).join('; ')}`);
      const rep = await api.rollout.report(verdict.reportId!);
      f.criteria = rep.report.criteria.map((c) => ({ criterion: c.criterion, split: c.split, passed: c.passed, summary: c.summary }));
      const aliases = await api.registry.aliases(model);
      f.aliases = aliases;
      if (aliases.staging !== r.candidate.version || aliases.canary !== r.candidate.version)
        throw new ScenarioFindingError(`staging/canary do not point at v${r.candidate.version}: ${JSON.stringify(aliases)}`);
    });

    // ---- 6. canary steps → production ----
    await phase(6, 'canary', 'canary steps with the stream feeding the live guards → production', async (f) => {
      Object.assign(f, await canaryStream('canary', doc.phases.canary));
      const cur = await api.rollout.current(model);
      f.rollout = { id: cur.id, status: cur.status, endedReason: cur.endedReason, steps: cur.steps };
      f.steps = await rolloutSteps(db, cur.id);
      if (cur.status !== 'promoted') throw new ScenarioFindingError(`the canary ended ${cur.status} (${cur.endedReason ?? 'still active after the stream'})`);
      f.production = (await api.registry.aliases(model)).production;
    });

    // ---- 7. a bad candidate (misaligned labels) → rejected ----
    // Trained from scratch with v1's recipe, not through the retrain job: a retrain always adds production's own
    // training split (true labels, the same images) to its dataset, which cancels a corruption of the feedback set.
    let badVersion = 0;
    await phase(7, 'bad-candidate', 'bad candidate trained on misaligned labels → rejected by the change protocol', async (f) => {
      const corrupted = await permuteLabels({ db, objects }, good!.dataset);
      f.dataset = corrupted;
      const trained = await startTraining(
        { db, objects, tracker: api.registry.tracker, cacheDir: cacheRoot },
        {
          workers: 0,
          experiment: 'scenario',
          name: `${doc.name}-bad-candidate`,
          ...doc.model.train,
          ...doc.phases.badCandidate.train,
          model: doc.model.preset,
          dataset: corrupted.versionId,
        },
      );
      if (trained.status !== 'finished') throw new ScenarioFindingError(`training the bad candidate ended ${trained.status}`);
      const mv = await api.registry.register({
        runId: trained.run.id,
        name: model,
        by: 'scenario',
        notes: `scenario ${doc.name}: trained on ${corrupted.versionId} (labels misaligned)`,
      });
      badVersion = mv.version;
      f.candidate = { version: mv.version, run: trained.run.id, summary: trained.run.summary };
      const report = await api.rollout.evaluate({ model, version: mv.version }, scenario.protocol, { by: 'scenario' });
      f.verdict = { report: report.id, protocol: report.protocol, passed: report.passed, failures: report.failures };
      if (report.passed) throw new ScenarioFindingError('the candidate trained on misaligned labels was not rejected by the protocol');
      if ((await api.registry.aliases(model)).staging === mv.version) throw new ScenarioFindingError('the rejected candidate reached staging');
    });

    // ---- 8. that candidate forced past evaluation, canaried → automatic rollback ----
    await phase(8, 'degrading-canary', 'the bad candidate forced past evaluation (declared permissive protocol), canaried → automatic rollback', async (f) => {
      const v = badVersion;
      const forced = await api.rollout.evaluate({ model, version: v }, scenario.forcedProtocol, { by: 'scenario' });
      f.forced = { report: forced.id, protocol: forced.protocol, passed: forced.passed };
      if (!forced.passed) throw new ScenarioFindingError(`the forced protocol rejected it too: ${forced.failures.join('; ')}`);
      const started = await api.rollout.start({ model, version: v }, { by: 'scenario' });
      f.started = { rollout: started.id, weight: started.weight };
      Object.assign(f, await canaryStream('degrading-canary', doc.phases.degradingCanary));
      const cur = await api.rollout.current(model);
      f.rollout = { id: cur.id, status: cur.status, endedReason: cur.endedReason, judgement: cur.lastJudgement?.guards ?? null };
      if (cur.status !== 'rolled_back')
        throw new ScenarioFindingError(`the degrading canary ended ${cur.status} (${cur.endedReason ?? 'still active after the stream'})`);
      const aliases = await api.registry.aliases(model);
      f.aliases = aliases;
      if (aliases.canary === v) throw new ScenarioFindingError('canary still points at the rolled-back candidate');
    });

    // ---- checks: /metrics, the UI's API, the audit chain ----
    const users = new UserStore(db);
    const observer = `${newSimulationId()}-observer`;
    const { token, tokenId } = await users.addUser({ name: observer, role: 'ml-engineer', label: `scenario ${doc.name} checks` });
    try {
      const get = async (path: string): Promise<{ status: number; text: string }> => {
        const res = await fetch(`${srv.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        return { status: res.status, text: await res.text() };
      };
      const m = await get('/metrics');
      const lines = m.text.split('\n').filter((l) => l.startsWith('secondread_') && l.includes(`model="${model}"`));
      metricsSeries = lines;
      const value = (re: RegExp): number | null => {
        const l = lines.find((x) => re.test(x));
        return l === undefined ? null : Number(l.slice(l.lastIndexOf(' ') + 1));
      };
      const expectSeries = (name: string, re: RegExp, ok: (v: number) => boolean, want: string) => {
        const v = value(re);
        checks.push({ name: `/metrics ${name}`, ok: v !== null && ok(v), detail: v === null ? 'series absent' : `${v} (expected ${want})` });
      };
      checks.push({ name: '/metrics answers', ok: m.status === 200, detail: `HTTP ${m.status}, ${lines.length} series of ${model}` });
      expectSeries('secondread_drift_detected', /^secondread_drift_detected\{/, (v) => v === 1, '1');
      expectSeries('secondread_drift_p_value', /^secondread_drift_p_value\{/, (v) => v >= 0 && v <= 1, 'a p-value');
      expectSeries('secondread_canary_degraded', /^secondread_canary_degraded\{/, (v) => v === 1, '1 after the automatic rollback');
      expectSeries('secondread_canary_weight', /^secondread_canary_weight\{/, (v) => v === 0, '0: no active canary');
      expectSeries('secondread_rollouts promoted', /^secondread_rollouts\{.*status="promoted"/, (v) => v === 1, '1');
      expectSeries('secondread_rollouts rolled_back', /^secondread_rollouts\{.*status="rolled_back"/, (v) => v === 1, '1');

      // What the UI's model page and rollout panel read.
      const hist = await get(`/v1/models/${model}/aliases/history`);
      const events = hist.status === 200 ? ((JSON.parse(hist.text) as { events: { alias: string; version: number; reason: string }[] }).events ?? []) : [];
      const goodV = good!.candidate.version;
      const badV = badVersion;
      const has = (alias: string, version: number) => events.some((e) => e.alias === alias && e.version === version);
      checks.push({
        name: 'UI: alias history',
        ok:
          has('staging', goodV) &&
          has('canary', goodV) &&
          has('production', goodV) &&
          has('canary', badV) &&
          events.filter((e) => e.alias === 'canary').length >= 3,
        detail: `${events.length} alias changes: ${events.map((e) => `${e.alias}→v${e.version}`).join(', ')}`,
      });
      const ro = await get(`/v1/models/${model}/rollout`);
      const roStatus = ro.status === 200 ? (JSON.parse(ro.text) as { rollout: { status: string } }).rollout.status : `HTTP ${ro.status}`;
      checks.push({ name: 'UI: rollout panel', ok: roStatus === 'rolled_back', detail: `latest rollout ${roStatus}` });
      const reps = await get(`/v1/models/${model}/protocol-reports`);
      const list =
        reps.status === 200 ? (JSON.parse(reps.text) as { reports: { version: number; passed: boolean; protocol: { name: string } }[] }).reports : [];
      checks.push({
        name: 'UI: protocol reports',
        ok:
          list.some((r) => r.version === goodV && r.passed) &&
          list.some((r) => r.version === badV && !r.passed) &&
          list.some((r) => r.version === badV && r.passed),
        detail: list.map((r) => `v${r.version} ${r.passed ? 'passed' : 'rejected'} (${r.protocol.name})`).join(', '),
      });
      await o.beforeClose?.({ url: srv.url, token });
    } finally {
      await users.revokeToken(tokenId).catch(() => undefined);
      await users.disableUser(observer).catch(() => undefined);
    }
    const verified = await verifyAuditLog(db);
    checks.push({ name: 'audit verify', ok: verified.ok, detail: verified.ok ? `${verified.entries} entries, chain intact` : verified.message });
    const audit = await rolloutAudit(db);
    const rolledBack = audit.filter((e) => e.event === 'rollout.rolled_back');
    const count = (ev: string) => audit.filter((e) => e.event === ev).length;
    checks.push({
      name: 'audit: rollout entries',
      ok: count('rollout.promoted') >= 1 && rolledBack.some((e) => e.actor === 'system') && count('rollout.evaluated') >= 4,
      detail:
        ['rollout.evaluated', 'rollout.started', 'rollout.stepped', 'rollout.promoted', 'rollout.rolled_back'].map((ev) => `${ev} ×${count(ev)}`).join(', ') +
        (rolledBack.length ? `; rollback by ${rolledBack.map((e) => e.actor).join(', ')}` : ''),
    });
  } catch (err) {
    fatal = err;
    logger.warn({ err: describeError(err) }, 'scenario stopped');
  } finally {
    await server?.close();
  }
  const result: ScenarioResult = {
    scenario: doc.name,
    model,
    startedAt,
    endedAt: new Date().toISOString(),
    seconds: round((Date.now() - t0) / 1000, 1),
    load: { start: loadStart.map((x) => round(x, 2)), end: loadavg().map((x) => round(x, 2)), cpus: cpus().length },
    phases,
    checks,
    ok: fatal === null && phases.every((p) => p.ok) && checks.every((c) => c.ok),
    outDir: o.outDir,
    metrics: metricsSeries,
  };
  if (fatal !== null && !phases.some((p) => !p.ok)) checks.push({ name: 'scenario', ok: false, detail: describeError(fatal) });
  return result;
}

/** Every `rollout.*` audit entry, in seq order (the log paged through; study entries are most of it). */
async function rolloutAudit(db: Db): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (let after = 0; ;) {
    const page = await listAudit(db, { afterSeq: after, limit: 1000 });
    out.push(...page.filter((e) => e.event.startsWith('rollout.')));
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.seq;
  }
}

/** The rollout's audit entries after its start: each step's share change and guards, the promotion or rollback. */
async function rolloutSteps(db: Db, rolloutId: string): Promise<{ event: string; actor: string; at: string; fromWeight: unknown; toWeight: unknown }[]> {
  return (await rolloutAudit(db))
    .filter((e) => (e.payload as { rollout?: string } | null)?.rollout === rolloutId)
    .map((e) => {
      const p = e.payload as { fromWeight?: unknown; toWeight?: unknown; weight?: unknown };
      return { event: e.event, actor: e.actor, at: e.at, fromWeight: p.fromWeight ?? null, toWeight: p.toWeight ?? p.weight ?? null };
    });
}

/** The examples/datasets.yaml source each `data synth` dataset fills. */
const SOURCE_OF: Record<string, string> = { covid: 'covid19-radiography', tb: 'tb-chest-radiography', oct: 'kermany-oct2017' };

/** `data synth` into `dir`, then `data build` with examples/datasets.yaml: the dataset version's id. */
async function synthesize(deps: Pick<ScenarioDeps, 'db' | 'objects'>, d: SyntheticData, dir: string): Promise<string> {
  const raw = join(dir, 'raw');
  await synthesizeArchives({
    outDir: raw,
    perClass: d.perClass,
    seed: d.seed,
    labelNoise: d.labelNoise,
    cxrSize: d.imageSize,
    octWidth: d.imageSize,
    octHeight: d.imageSize - 2,
    workers: 0,
    force: true,
    ...(d.datasets ? { datasets: d.datasets } : {}),
    ...(d.cxrScanner ? { cxrScanner: d.cxrScanner } : {}),
    ...(d.octScanner ? { octScanner: d.octScanner } : {}),
  });
  const config = loadDatasetConfig(DATASETS_CONFIG, { rawDir: raw });
  const sources = d.datasets ? config.sources.filter((s) => (d.datasets as readonly string[]).some((x) => SOURCE_OF[x] === s.dataset)) : config.sources;
  const built = await buildDataset({ db: deps.db, objects: deps.objects, config: { ...config, sources } });
  return built.versionId;
}

interface StreamFigures {
  studies: number;
  failed: number;
  offset: number;
  seconds: number;
  decisions: Record<string, number>;
  byVersion: Record<string, number>;
  report: string;
}

/**
 * One stream of studies through the HTTP API (runSimulation), continuing through `split` where the last stream of it
 * stopped and wrapping around at its end: every stream gets its `maxStudies` whatever the streams before it consumed.
 */
async function streamStudies(
  deps: ScenarioDeps,
  srv: InProcessServer,
  doc: Scenario['document'],
  s: {
    name: string;
    dataset: string;
    split: string;
    maxStudies: number;
    /** Studies started per second (null: as fast as the concurrency allows). */
    rate: number | null;
    outDir: string;
    stop?: AbortSignal;
    streamed: Map<string, number>;
    onDone?: (done: number) => void;
  },
): Promise<StreamFigures> {
  const key = `${s.dataset}/${s.split}`;
  const offset = s.streamed.get(key) ?? 0;
  const t = Date.now();
  const report = await runSimulation(
    {
      db: deps.db,
      objects: deps.objects,
      users: new UserStore(deps.db),
      server: { url: srv.url, inProcess: true, note: srv.note },
      logger: deps.logger,
      stop: s.stop,
      onProgress: (p) => s.onDone?.(p.done),
    },
    {
      id: newSimulationId(),
      datasetVersion: s.dataset,
      split: s.split as never,
      limit: s.maxStudies,
      offset,
      wrap: true,
      rate: s.rate,
      concurrency: doc.concurrency,
      maxSeconds: null,
      maxFailures: 10,
      readerA: { ...doc.readers.a, seed: doc.readers.a.seed + offset },
      readerB: { ...doc.readers.b, seed: doc.readers.b.seed + offset },
      metricsEverySeconds: 5,
      outDir: s.outDir,
    },
  );
  const rec = report.record;
  s.streamed.set(key, (offset + rec.schedule.started) % rec.dataset.splitSize);
  const decisions: Record<string, number> = {};
  const byVersion: Record<string, number> = {};
  for (const x of rec.outcomes) {
    decisions[x.decision] = (decisions[x.decision] ?? 0) + 1;
    const v = x.model ? `v${x.model.version}` : 'none';
    byVersion[v] = (byVersion[v] ?? 0) + 1;
  }
  if (rec.schedule.failed > 0) throw new ScenarioFindingError(`${rec.schedule.failed} studies of stream ${s.name} failed: ${rec.failures[0]?.message ?? ''}`);
  return {
    studies: rec.schedule.completed,
    failed: rec.schedule.failed,
    offset,
    seconds: round((Date.now() - t) / 1000, 1),
    decisions,
    byVersion,
    report: join(s.outDir, 'report.md'),
  };
}
