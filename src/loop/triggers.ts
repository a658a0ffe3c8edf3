// What starts a retrain: a person (`secondread retrain`), a schedule, a drift alarm, or N new labels. Each
// trigger ends in `request`, which enqueues one `retrain` job unless one for the model is still queued or
// running — a drift alarm every window, or labels piling up during a long run, must not stack up retrains.
// Trigger state lives in `retrain_triggers` (migration 0010); every enqueue is claimed by a compare-and-set
// on the row, so several API processes running the same checks over one DB enqueue once.
import { type Clock, systemClock } from '../core/clock.js';
import { ConflictError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Job, JobQueue } from '../jobs/index.js';
import { type DriftAlarm, driftAlarmsSince } from '../monitoring/drift/index.js';
import type { Db } from '../storage/db.js';
import type { RetrainTriggersTable } from '../storage/schema.js';
import { countFinalizedStudies } from '../workflow/feedback.js';
import { RETRAIN_JOB, type RetrainPayload, type TriggerKind } from './retrain.js';

export interface TriggerSettings {
  /** The registered model retrained (its production version). */
  model: string;
  /** Scheduled retrain every this many hours (absent: none). */
  everyHours?: number;
  /** Retrain once this many labels (studies feedback would take) were finalized since the last retrain (absent: never). */
  newLabels?: number;
  /** Retrain on a drift alarm for the model. */
  onDrift: boolean;
  includeAutoFinalized: boolean;
  /** Training options of the runs. */
  train: Record<string, unknown>;
}

export type RequestOutcome = { enqueued: true; job: Job } | { enqueued: false; reason: string; job?: Job };

const ACTIVE = new Set(['queued', 'running']);

export class RetrainTriggers {
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: { db: Db; jobs: JobQueue; logger?: Logger; clock?: Clock },
    readonly settings: TriggerSettings,
  ) {
    this.clock = deps.clock ?? systemClock;
  }

  /** The model's trigger state (a fresh row on first use). */
  async state(): Promise<RetrainTriggersTable> {
    const row = await this.deps.db.selectFrom('retrain_triggers').selectAll().where('model_name', '=', this.settings.model).executeTakeFirst();
    if (row) return row;
    const fresh: RetrainTriggersTable = {
      model_name: this.settings.model,
      last_job_id: null,
      last_trigger: null,
      last_enqueued_at: null,
      last_scheduled_at: null,
      drift_cursor: null,
      row_version: 0,
      updated_at: this.clock.now().toISOString(),
    };
    await this.deps.db
      .insertInto('retrain_triggers')
      .values(fresh)
      .onConflict((oc) => oc.column('model_name').doNothing())
      .execute();
    return (await this.deps.db.selectFrom('retrain_triggers').selectAll().where('model_name', '=', this.settings.model).executeTakeFirstOrThrow())!;
  }

  /** Writes `changes` if the row is still at `seen.row_version`; false when another process got there first. */
  private async claim(seen: RetrainTriggersTable, changes: Partial<RetrainTriggersTable>): Promise<boolean> {
    const r = await this.deps.db
      .updateTable('retrain_triggers')
      .set({ ...changes, row_version: Number(seen.row_version) + 1, updated_at: this.clock.now().toISOString() })
      .where('model_name', '=', this.settings.model)
      .where('row_version', '=', seen.row_version)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  private async activeJob(s: RetrainTriggersTable): Promise<Job | undefined> {
    if (!s.last_job_id) return undefined;
    const job = await this.deps.jobs.get(s.last_job_id);
    return job && ACTIVE.has(job.status) ? job : undefined;
  }

  /**
   * Enqueues a retrain for `kind`, unless one is queued or running. `extra` is written with the claim
   * (the schedule's or the drift cursor's advance), so what fired is recorded once whatever happens next.
   */
  async request(
    kind: TriggerKind,
    o: { by: string; detail?: Record<string, unknown>; extra?: Partial<RetrainTriggersTable>; payload?: Pick<RetrainPayload, 'dataset' | 'since'> } = {
      by: 'system',
    },
  ): Promise<RequestOutcome> {
    const s = await this.state();
    const active = await this.activeJob(s);
    if (active) {
      if (o.extra) await this.claim(s, o.extra);
      return { enqueued: false, reason: `retrain job ${active.id} for ${this.settings.model} is ${active.status}`, job: active };
    }
    const now = this.clock.now().toISOString();
    if (!(await this.claim(s, { ...o.extra, last_trigger: kind, last_enqueued_at: now, last_job_id: null })))
      return { enqueued: false, reason: 'another process enqueued a retrain at the same moment' };
    const payload: RetrainPayload = {
      model: this.settings.model,
      trigger: { kind, detail: o.detail ?? {} },
      includeAutoFinalized: this.settings.includeAutoFinalized,
      train: this.settings.train,
      ...(o.payload?.dataset !== undefined ? { dataset: o.payload.dataset } : {}),
      ...(o.payload?.since !== undefined ? { since: o.payload.since } : {}),
    };
    let job: Job;
    try {
      job = await this.deps.jobs.enqueue(RETRAIN_JOB, payload, { createdBy: o.by });
    } catch (err) {
      // Nothing was enqueued: give the labels count and the schedule their previous marks back.
      await this.deps.db
        .updateTable('retrain_triggers')
        .set({ last_enqueued_at: s.last_enqueued_at, last_trigger: s.last_trigger, last_job_id: s.last_job_id })
        .where('model_name', '=', this.settings.model)
        .execute();
      throw err;
    }
    await this.deps.db.updateTable('retrain_triggers').set({ last_job_id: job.id }).where('model_name', '=', this.settings.model).execute();
    this.deps.logger?.info({ model: this.settings.model, trigger: kind, job: job.id }, 'retrain enqueued');
    return { enqueued: true, job };
  }

  /** `secondread retrain`: by hand; refused (409) while a retrain of the model is queued or running. */
  async manual(by: string, detail: Record<string, unknown> = {}, payload: Pick<RetrainPayload, 'dataset' | 'since'> = {}): Promise<Job> {
    const r = await this.request('manual', { by, detail, payload });
    if (!r.enqueued) throw new ConflictError(`not enqueued: ${r.reason}`, r.job ? { job: r.job.id } : undefined);
    return r.job;
  }

  /** A drift alarm for the model (the DriftAlarms subscriber in the process that checks drift). */
  async onDriftAlarm(a: DriftAlarm): Promise<RequestOutcome | undefined> {
    if (!this.settings.onDrift || a.model !== this.settings.model) return undefined;
    const s = await this.state();
    if (s.drift_cursor !== null && a.at <= s.drift_cursor) return undefined; // already acted on (seen by polling)
    return this.request('drift', {
      by: 'drift',
      detail: { checkId: a.checkId, version: a.version, modality: a.modality, tests: a.tests, at: a.at },
      extra: { drift_cursor: a.at },
    });
  }

  /** One pass over the polled triggers: drift alarms recorded by any process, the schedule, the labels count. */
  async check(): Promise<RequestOutcome[]> {
    const out: RequestOutcome[] = [];
    const { settings } = this;
    if (settings.onDrift) {
      const s = await this.state();
      const alarms = await driftAlarmsSince(this.deps.db, { after: s.drift_cursor ?? undefined, model: settings.model, limit: 1000 });
      const last = alarms[alarms.length - 1];
      if (last) {
        const r = await this.onDriftAlarm(last);
        if (r) out.push(r);
      }
    }
    if (settings.everyHours !== undefined) {
      const s = await this.state();
      const now = this.clock.now();
      // The first check starts the clock: a server starting up does not retrain at once.
      if (s.last_scheduled_at === null) await this.claim(s, { last_scheduled_at: now.toISOString() });
      else if (now.getTime() - Date.parse(s.last_scheduled_at) >= settings.everyHours * 3_600_000)
        out.push(
          await this.request('schedule', { by: 'schedule', detail: { everyHours: settings.everyHours }, extra: { last_scheduled_at: now.toISOString() } }),
        );
    }
    if (settings.newLabels !== undefined) {
      const s = await this.state();
      const n = await countFinalizedStudies(this.deps.db, { since: s.last_enqueued_at ?? undefined, includeAutoFinalized: settings.includeAutoFinalized });
      if (n >= settings.newLabels) out.push(await this.request('labels', { by: 'labels', detail: { newLabels: n, threshold: settings.newLabels } }));
    }
    return out;
  }

  /** Runs `check` every `everyMs` until `stop` (a failing check is logged; the next one runs anyway). */
  start(everyMs: number): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.check().catch((err: unknown) => this.deps.logger?.error({ err }, 'retrain trigger check failed')));
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }
}
