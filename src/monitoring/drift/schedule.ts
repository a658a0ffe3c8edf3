// Scheduled drift checks inside `secondread serve` (config `drift.checkIntervalSeconds`, docs/drift.md "What runs
// automatically"). Each pass takes every model whose `production` version has reference-profile rows and checks it —
// the check `drift check` runs: recorded in drift_checks, gauges set, and on detection the alarm raised on this
// process's DriftAlarms, which the retrain trigger (src/loop/triggers.ts) subscribes to — once at least
// `minNewReads` of its reads arrived since its last check (no new data, no new check, no repeated alarm).
//
// Several API processes on one database: a scheduled check's id is derived from (model, version, modality, interval
// slot), so the drift_checks primary key lets one process per slot record it and raise its alarm; a process that
// finds the slot's row already there skips without computing, one that loses an insert race drops its result. No
// lease table, no Redis: the row is the lock. All processes must share the drift settings (another interval is
// another slot).
import { type Clock, systemClock } from '../../core/clock.js';
import type { Config } from '../../core/config.js';
import { sha256Hex } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import type { Db } from '../../storage/db.js';
import type { ModelRegistry } from '../../tracking/registry.js';
import { assertWindow, DriftCheckRecordedError, type DriftCheckRequest, DriftWindowTooSmallError } from './check.js';
import { NoDriftProfileError } from './profile.js';
import { checkExists, countObservations, latestCheck } from './store.js';
import type { DriftCheck, WindowModality, WindowSpec } from './types.js';
import { parseWindow } from './window.js';

export interface DriftScheduleSettings {
  /** Seconds between passes (and the length of a slot). */
  intervalSeconds: number;
  window: WindowSpec;
  modality: WindowModality;
  alpha: number;
  /** A model version is checked only when at least this many of its reads arrived since its last check. */
  minNewReads: number;
}

export type ScheduledOutcome =
  { model: string; version: number; outcome: 'checked'; check: DriftCheck } | { model: string; version: number; outcome: 'skipped'; reason: string };

export interface DriftSchedulerDeps {
  db: Db;
  registry: ModelRegistry;
  /** Runs and records one check (DriftService.check: gauges and alarm included). */
  check: (req: DriftCheckRequest) => Promise<DriftCheck>;
  logger: Logger;
  clock?: Clock;
}

/** The id of a scheduled check of (model, version, modality) in the interval slot holding `now`: equal in every process. */
export function scheduledCheckId(
  s: Pick<DriftScheduleSettings, 'intervalSeconds'>,
  o: { model: string; version: number; modality: WindowModality; now: Date },
): string {
  const ms = s.intervalSeconds * 1000;
  const slot = Math.floor(o.now.getTime() / ms) * ms;
  return `drc_${slot.toString(36).padStart(9, '0')}${sha256Hex(`scheduled\n${o.model}\n${o.version}\n${o.modality}\n${s.intervalSeconds}\n${slot}`).slice(0, 20)}`;
}

/** The settings of config `drift`; null when scheduled checks are off (`checkIntervalSeconds: 0`). */
export function scheduleSettings(c: Config['drift']): DriftScheduleSettings | null {
  if (c.checkIntervalSeconds === 0) return null;
  return { intervalSeconds: c.checkIntervalSeconds, window: parseWindow(c.window), modality: c.modality, alpha: c.alpha, minNewReads: c.minNewReads };
}

export class DriftScheduler {
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> = Promise.resolve();
  /** Production versions already reported as unprofiled (warned once per process). */
  private readonly unprofiled = new Set<string>();

  constructor(
    private readonly deps: DriftSchedulerDeps,
    readonly settings: DriftScheduleSettings,
  ) {
    assertWindow(settings.window);
    this.clock = deps.clock ?? systemClock;
  }

  /** One pass over the production models. A model whose check fails is logged and skipped; the others still run. */
  async tick(): Promise<ScheduledOutcome[]> {
    const out: ScheduledOutcome[] = [];
    for (const m of await this.deps.registry.listModels()) {
      const version = m.aliases.production;
      if (version === undefined) continue;
      try {
        out.push(await this.checkOne(m.name, version));
      } catch (err) {
        this.deps.logger.error({ err, model: m.name, version }, 'scheduled drift check failed');
        out.push({ model: m.name, version, outcome: 'skipped', reason: `failed: ${(err as Error).message}` });
      }
    }
    return out;
  }

  private async checkOne(model: string, version: number): Promise<ScheduledOutcome> {
    const { db } = this.deps;
    const { modality, minNewReads } = this.settings;
    const skipped = (reason: string): ScheduledOutcome => ({ model, version, outcome: 'skipped', reason });
    const last = await latestCheck(db, { model, version, modality });
    const fresh = await countObservations(db, { model, version, modality, after: last?.window.end ?? null });
    if (fresh < minNewReads) return skipped(`${fresh} new reads since the last check (fewer than ${minNewReads})`);
    const id = scheduledCheckId(this.settings, { model, version, modality, now: this.clock.now() });
    if (await checkExists(db, id)) return skipped('checked in this interval by another process');
    try {
      const check = await this.deps.check({ id, model, version, modality, window: this.settings.window, alpha: this.settings.alpha, by: 'schedule' });
      this.deps.logger.info(
        { model, version, modality, check: check.id, observations: check.window.observations, detected: check.detected },
        check.detected ? 'scheduled drift check: DRIFT DETECTED' : 'scheduled drift check: no drift',
      );
      return { model, version, outcome: 'checked', check };
    } catch (err) {
      if (err instanceof DriftCheckRecordedError) return skipped('checked in this interval by another process');
      if (err instanceof DriftWindowTooSmallError) return skipped(err.message);
      if (err instanceof NoDriftProfileError) {
        const key = `${model}\n${version}`;
        if (!this.unprofiled.has(key)) this.deps.logger.warn({ model, version }, `${err.message}: its drift is not checked`);
        this.unprofiled.add(key);
        return skipped('no reference profile');
      }
      throw err;
    }
  }

  /** Runs `tick` every interval until `stop` (one pass at a time; the first one interval after the start). */
  start(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.tick()).catch((err: unknown) => this.deps.logger.error({ err }, 'scheduled drift checks failed'));
    }, this.settings.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Resolves once the pass under way (if any) is over. */
  settled(): Promise<void> {
    return this.ticking.then(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.settled();
  }
}
