// The rollout service: what the CLI, the API and the simulator call. It stores every candidate evaluation (the
// verdict, its reasons, the report; the model card gets it too), moves a passing candidate to `staging` with its
// own fitted policy, and runs the staged canary: `start` points `canary` at the candidate with the first share,
// `step` judges the current step from the live guards (gates.ts) and advances, waits, promotes at the last step
// or rolls back automatically; `rollback` does the same by hand. Every decision is an audit entry, appended in
// the transaction that records it; the canary share is a column the serving processes read with the aliases.
//
// Steps run under compare-and-set on (rollout, step, status): two processes judging the same step at once (the
// server's timer and `secondread rollout step`) act once.
import { type Clock, systemClock } from '../core/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { ProgressFn } from '../core/progress.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { RolloutReportsTable, RolloutsTable } from '../storage/schema.js';
import { assertModelName, assertVersion } from '../tracking/names.js';
import type { ModelRegistry } from '../tracking/registry.js';
import { appendAudit } from '../workflow/audit.js';
import { PolicyStore } from '../workflow/policies.js';
import { evaluateCandidate, type EvaluateTarget, type ProtocolEvaluation } from './evaluate.js';
import { judgeStep, type StepJudgement } from './gates.js';
import { armFigures } from './guards.js';
import type { CanaryProtocol, LoadedProtocol } from './protocol.js';

export interface StoredReport {
  id: string;
  model: string;
  version: number;
  baselineVersion: number | null;
  protocol: { name: string; version: number; sha256: string };
  passed: boolean;
  failures: string[];
  createdBy: string;
  createdAt: string;
  report: ProtocolEvaluation & { policy: { id: string; version: number } | null };
}

export const ROLLOUT_STATUSES = ['active', 'promoted', 'rolled_back'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export interface Rollout {
  id: string;
  model: string;
  candidateVersion: number;
  baselineVersion: number;
  reportId: string;
  status: RolloutStatus;
  step: number;
  steps: number[];
  canary: CanaryProtocol;
  weight: number;
  stepStartedAt: string;
  lastJudgement: StepJudgement | null;
  endedReason: string | null;
  startedBy: string;
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
}

/** What one `step` did. */
export type StepAction = 'advanced' | 'promoted' | 'rolled_back' | 'waiting';

export interface RolloutDeps {
  db: Db;
  objects: ObjectStore;
  registry: ModelRegistry;
  logger: Logger;
  clock?: Clock;
  cacheDir?: string;
}

/** Who acts: a user (CLI, API) or the rollout timer itself. */
export interface Actor {
  by: string;
  /** true: the automatic gate (audit actor `system`). */
  automatic?: boolean;
}

const actorOf = (a: Actor): string => (a.automatic ? 'system' : `user:${a.by}`);

export class RolloutService {
  private readonly clock: Clock;
  private readonly policies: PolicyStore;
  /** Evaluations of one model run one at a time in this process (the card's report list is read, extended, written). */
  private readonly evaluating = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: RolloutDeps) {
    this.clock = deps.clock ?? systemClock;
    this.policies = new PolicyStore(deps.db, this.clock);
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  // ---- candidate evaluation ----

  /**
   * Evaluates a version against the protocol and records the verdict: the report row, the model card section and an
   * audit entry; a pass also stores the candidate's fitted policy (in force for that version from now on) and points
   * `staging` at it. A rejection changes nothing else: the reasons are in the report.
   */
  async evaluate(target: EvaluateTarget, protocol: LoadedProtocol, a: Actor, o: { onProgress?: ProgressFn; signal?: AbortSignal } = {}): Promise<StoredReport> {
    const model = assertModelName(target.model);
    const prev = this.evaluating.get(model) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.evaluateNow(target, protocol, a, o));
    this.evaluating.set(model, run);
    try {
      return await run;
    } finally {
      if (this.evaluating.get(model) === run) this.evaluating.delete(model);
    }
  }

  private async evaluateNow(
    target: EvaluateTarget,
    protocol: LoadedProtocol,
    a: Actor,
    o: { onProgress?: ProgressFn; signal?: AbortSignal },
  ): Promise<StoredReport> {
    const r = await evaluateCandidate(this.deps, target, protocol, o);
    const policy = r.passed
      ? await this.policies.create({
          modelName: r.model,
          modelVersion: r.candidateVersion,
          rule: r.policyRule,
          by: 'rollout',
          report: { source: 'change-protocol', protocol: r.protocol.name, protocolVersion: r.protocol.version, fit: r.falseClear },
        })
      : null;
    const report = { ...r, policy: policy ? { id: policy.id, version: policy.version } : null };
    const row: RolloutReportsTable = {
      id: newId('rr_'),
      model_name: r.model,
      model_version: r.candidateVersion,
      baseline_version: r.baselineVersion,
      protocol_name: r.protocol.name,
      protocol_version: r.protocol.version,
      protocol_sha256: r.protocol.sha256,
      passed: r.passed ? 1 : 0,
      failures_json: JSON.stringify(r.failures),
      report_json: JSON.stringify(report),
      created_by: a.by,
      created_at: this.now(),
    };
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('rollout_reports').values(row).execute();
      await appendAudit(trx, {
        at: row.created_at,
        actor: actorOf(a),
        event: 'rollout.evaluated',
        studyId: null,
        payload: {
          reportId: row.id,
          model: r.model,
          version: r.candidateVersion,
          baselineVersion: r.baselineVersion,
          protocol: { name: r.protocol.name, version: r.protocol.version, sha256: r.protocol.sha256 },
          datasetVersion: r.datasetVersion,
          passed: r.passed,
          failures: r.failures,
          policyId: policy?.id ?? null,
        },
      });
    });
    await this.deps.registry.attachProtocolReport(r.model, r.candidateVersion, {
      reportId: row.id,
      protocol: { name: r.protocol.name, version: r.protocol.version, sha256: r.protocol.sha256 },
      evaluatedAt: row.created_at,
      evaluatedBy: a.by,
      baselineVersion: r.baselineVersion,
      datasetVersion: r.datasetVersion,
      passed: r.passed,
      criteria: r.criteria,
      failures: r.failures,
    });
    if (r.passed)
      await this.moveAlias(r.model, 'staging', r.candidateVersion, a, `passed change protocol ${r.protocol.name} v${r.protocol.version} (report ${row.id})`);
    return toReport(row);
  }

  async report(id: string): Promise<StoredReport> {
    const row = await this.deps.db.selectFrom('rollout_reports').selectAll().where('id', '=', String(id).slice(0, 80)).executeTakeFirst();
    if (!row) throw new NotFoundError('protocol report', String(id).slice(0, 80));
    return toReport(row);
  }

  /** Reports of a model (optionally one version), newest first. */
  async reports(model: string, version?: number): Promise<StoredReport[]> {
    let q = this.deps.db.selectFrom('rollout_reports').selectAll().where('model_name', '=', assertModelName(model));
    if (version !== undefined) q = q.where('model_version', '=', assertVersion(version));
    return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute()).map(toReport);
  }

  // ---- the staged canary ----

  /**
   * Starts the canary of a candidate (default: the `staging` version) against production: it needs a passing
   * protocol report (the newest of that version), a policy in force for it, a production version to compare with,
   * and no other active rollout of the model. `canary` then points at the candidate with the first step's share.
   */
  async start(o: { model: string; version?: number }, a: Actor): Promise<Rollout> {
    const model = assertModelName(o.model);
    const aliases = await this.deps.registry.aliases(model);
    const version = o.version ?? aliases.staging;
    if (version === undefined) throw new ValidationError(`${model} has no staging version: evaluate a candidate first, or name a version`);
    const production = aliases.production;
    if (production === undefined)
      throw new ValidationError(`${model} has no production version to run a canary against (promote the first version with \`models promote\`)`);
    if (production === version) throw new ValidationError(`${model} v${version} is production already`);
    const [report] = await this.reports(model, version);
    if (!report) throw new ValidationError(`${model} v${version} has not been evaluated against a change protocol (\`rollout evaluate\`)`);
    if (!report.passed)
      throw new ValidationError(`${model} v${version} was rejected by change protocol ${report.protocol.name}: ${report.failures.join('; ')}`);
    if (!(await this.policies.inForce(model, version)))
      throw new ValidationError(`${model} v${version} has no policy of its own: a version is never read with another version's thresholds`);
    const canary = report.report.protocol.document.canary;
    const now = this.now();
    const row: RolloutsTable = {
      id: newId('ro_'),
      model_name: model,
      candidate_version: version,
      baseline_version: production,
      report_id: report.id,
      canary_json: JSON.stringify(canary),
      status: 'active',
      step: 0,
      weight: canary.steps[0]!,
      step_started_at: now,
      last_judgement_json: null,
      ended_reason: null,
      started_by: a.by,
      created_at: now,
      updated_at: now,
      ended_at: null,
    };
    await this.deps.db.transaction().execute(async (trx) => {
      const active = await trx.selectFrom('rollouts').select('id').where('model_name', '=', model).where('status', '=', 'active').executeTakeFirst();
      if (active) throw new ConflictError(`${model} already has an active rollout (${active.id}): roll it back or let it finish first`, { rollout: active.id });
      await trx.insertInto('rollouts').values(row).execute();
      await appendAudit(trx, {
        at: now,
        actor: actorOf(a),
        event: 'rollout.started',
        studyId: null,
        payload: {
          rollout: row.id,
          model,
          candidateVersion: version,
          baselineVersion: production,
          reportId: report.id,
          steps: canary.steps,
          weight: row.weight,
        },
      });
    });
    await this.moveAlias(model, 'canary', version, a, `rollout ${row.id}: canary at ${pctOf(row.weight)}`);
    return toRollout(row);
  }

  /** The model's active rollout, else its newest; NotFoundError when it never had one. */
  async current(model: string): Promise<Rollout> {
    const rows = await this.deps.db
      .selectFrom('rollouts')
      .selectAll()
      .where('model_name', '=', assertModelName(model))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    const row = rows.find((r) => r.status === 'active') ?? rows[0];
    if (!row) throw new NotFoundError('rollout of model', model);
    return toRollout(row);
  }

  async list(model?: string): Promise<Rollout[]> {
    let q = this.deps.db.selectFrom('rollouts').selectAll();
    if (model !== undefined) q = q.where('model_name', '=', assertModelName(model));
    return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(200).execute()).map(toRollout);
  }

  /** The current rollout with the judgement of its step as the live figures stand now (nothing is changed). */
  async status(model: string): Promise<{ rollout: Rollout; judgement: StepJudgement | null }> {
    const rollout = await this.current(model);
    if (rollout.status !== 'active') return { rollout, judgement: rollout.lastJudgement };
    return { rollout, judgement: await this.judge(rollout) };
  }

  private async judge(r: Rollout): Promise<StepJudgement> {
    const [c, p] = await Promise.all([
      armFigures(this.deps.db, r.model, r.candidateVersion, r.stepStartedAt),
      armFigures(this.deps.db, r.model, r.baselineVersion, r.stepStartedAt),
    ]);
    return judgeStep(r.canary, c, p);
  }

  /**
   * Judges the active rollout's current step and acts: degraded → automatic rollback; every guard satisfied →
   * the next step (its share, a fresh window), or at the last step (share 1) promotion of the candidate to
   * production; otherwise it waits (the judgement is kept for status).
   */
  async step(model: string, a: Actor): Promise<{ rollout: Rollout; judgement: StepJudgement; action: StepAction }> {
    const r = await this.current(model);
    if (r.status !== 'active') throw new ConflictError(`${r.model} has no active rollout (the last one, ${r.id}, is ${r.status})`, { rollout: r.id });
    const judgement = await this.judge(r);
    if (judgement.decision === 'rollback') {
      const rolled = await this.endRollback(r, a, `canary degraded: ${judgement.reasons.join('; ')}`, judgement);
      return { rollout: rolled, judgement, action: 'rolled_back' };
    }
    if (judgement.decision === 'wait') {
      await this.deps.db
        .updateTable('rollouts')
        .set({ last_judgement_json: JSON.stringify(judgement), updated_at: this.now() })
        .where('id', '=', r.id)
        .where('status', '=', 'active')
        .where('step', '=', r.step)
        .execute();
      return { rollout: { ...r, lastJudgement: judgement }, judgement, action: 'waiting' };
    }
    const next = r.step + 1;
    const weight = r.steps[next]!;
    if (weight < 1) {
      const now = this.now();
      await this.transition(
        r,
        { step: next, weight, step_started_at: now, last_judgement_json: JSON.stringify(judgement), updated_at: now },
        a,
        'rollout.stepped',
        {
          fromWeight: r.weight,
          toWeight: weight,
          step: next,
          guards: judgement.guards,
        },
      );
      return { rollout: await this.current(r.model), judgement, action: 'advanced' };
    }
    const now = this.now();
    await this.transition(
      r,
      {
        step: next,
        weight: 0,
        status: 'promoted',
        ended_reason: 'every canary step passed its guards',
        ended_at: now,
        last_judgement_json: JSON.stringify(judgement),
        updated_at: now,
      },
      a,
      'rollout.promoted',
      { fromWeight: r.weight, productionFrom: r.baselineVersion, productionTo: r.candidateVersion, guards: judgement.guards },
    );
    // The candidate's own policy is stored under its version: the workflow reads its studies with it from now on.
    await this.moveAlias(r.model, 'production', r.candidateVersion, a, `rollout ${r.id}: every canary step passed its guards`);
    return { rollout: await this.current(r.model), judgement, action: 'promoted' };
  }

  /** Rolls the active rollout back by hand: `canary` returns to the production version, the candidate gets no more studies. */
  async rollback(model: string, a: Actor, reason: string): Promise<Rollout> {
    const r = await this.current(model);
    if (r.status !== 'active') throw new ConflictError(`${r.model} has no active rollout (the last one, ${r.id}, is ${r.status})`, { rollout: r.id });
    const why = String(reason ?? '').trim();
    if (!why) throw new ValidationError('a rollback needs a reason');
    return this.endRollback(r, a, why.slice(0, 2000), r.lastJudgement);
  }

  /** Every active rollout judged once (the server's timer): failures are logged per model, never thrown. */
  async tick(): Promise<void> {
    const active = await this.deps.db.selectFrom('rollouts').select('model_name').where('status', '=', 'active').execute();
    for (const { model_name } of active) {
      try {
        const { action, rollout } = await this.step(model_name, { by: 'rollout-gate', automatic: true });
        if (action !== 'waiting') this.deps.logger.info({ model: model_name, rollout: rollout.id, action, weight: rollout.weight }, 'rollout gate acted');
      } catch (err) {
        if (err instanceof ConflictError) continue;
        this.deps.logger.warn({ err, model: model_name }, 'rollout gate failed; it will judge again at the next tick');
      }
    }
  }

  /** The canary share of a model's active rollout, or null (serving then uses its own `canaryWeight`). */
  async canaryWeight(model: string): Promise<number | null> {
    const row = await this.deps.db.selectFrom('rollouts').select('weight').where('model_name', '=', model).where('status', '=', 'active').executeTakeFirst();
    return row ? Number(row.weight) : null;
  }

  private async endRollback(r: Rollout, a: Actor, reason: string, judgement: StepJudgement | null): Promise<Rollout> {
    const now = this.now();
    await this.transition(
      r,
      {
        status: 'rolled_back',
        weight: 0,
        ended_reason: reason,
        ended_at: now,
        last_judgement_json: judgement ? JSON.stringify(judgement) : null,
        updated_at: now,
      },
      a,
      'rollout.rolled_back',
      { fromWeight: r.weight, step: r.step, reason, automatic: a.automatic === true, guards: judgement?.guards ?? null },
    );
    await this.moveAlias(r.model, 'canary', r.baselineVersion, a, `rollout ${r.id} rolled back: ${reason}`.slice(0, 2000));
    this.deps.logger.warn({ model: r.model, rollout: r.id, candidate: r.candidateVersion, reason }, 'rollout rolled back');
    return this.current(r.model);
  }

  /** Updates the rollout iff it is still at the step it was judged at, with its audit entry, in one transaction. */
  private async transition(
    r: Rollout,
    set: Partial<RolloutsTable>,
    a: Actor,
    event: 'rollout.stepped' | 'rollout.promoted' | 'rollout.rolled_back',
    payload: Record<string, unknown>,
  ): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('rollouts')
        .set(set)
        .where('id', '=', r.id)
        .where('status', '=', 'active')
        .where('step', '=', r.step)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw new ConflictError(`rollout ${r.id} moved on meanwhile (another process judged it)`, { rollout: r.id });
      await appendAudit(trx, {
        at: set.updated_at ?? this.now(),
        actor: actorOf(a),
        event,
        studyId: null,
        payload: { rollout: r.id, model: r.model, candidateVersion: r.candidateVersion, baselineVersion: r.baselineVersion, ...payload },
      });
    });
  }

  /** Points an alias at a version; already there is fine (a retried step, a re-evaluated version). */
  private async moveAlias(model: string, alias: 'staging' | 'canary' | 'production', version: number, a: Actor, reason: string): Promise<void> {
    try {
      await this.deps.registry.setAlias(model, alias, version, { by: a.by, reason: reason.slice(0, 2000) });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

const pctOf = (w: number): string => `${+(w * 100).toFixed(2)}%`;

function toReport(r: RolloutReportsTable): StoredReport {
  return {
    id: r.id,
    model: r.model_name,
    version: Number(r.model_version),
    baselineVersion: r.baseline_version === null ? null : Number(r.baseline_version),
    protocol: { name: r.protocol_name, version: Number(r.protocol_version), sha256: r.protocol_sha256 },
    passed: Number(r.passed) === 1,
    failures: JSON.parse(r.failures_json) as string[],
    createdBy: r.created_by,
    createdAt: r.created_at,
    report: JSON.parse(r.report_json) as StoredReport['report'],
  };
}

function toRollout(r: RolloutsTable): Rollout {
  const canary = JSON.parse(r.canary_json) as CanaryProtocol;
  return {
    id: r.id,
    model: r.model_name,
    candidateVersion: Number(r.candidate_version),
    baselineVersion: Number(r.baseline_version),
    reportId: r.report_id,
    status: r.status as RolloutStatus,
    step: Number(r.step),
    steps: canary.steps,
    canary,
    weight: Number(r.weight),
    stepStartedAt: r.step_started_at,
    lastJudgement: r.last_judgement_json === null ? null : (JSON.parse(r.last_judgement_json) as StepJudgement),
    endedReason: r.ended_reason,
    startedBy: r.started_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    endedAt: r.ended_at,
  };
}

/** Judges every active rollout every `everyMs` (the server's automatic gate); `close` stops it and waits for a tick in progress. */
export function startRolloutGate(service: Pick<RolloutService, 'tick'>, everyMs: number): { close(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => service.tick());
  }, everyMs);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
