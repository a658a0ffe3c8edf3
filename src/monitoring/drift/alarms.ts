// The drift alarm: the interface the retrain trigger (src/workflow or above, issue 19's feedback loop) builds on.
// A check that detects drift is first written to `drift_checks` (detected = 1): that row IS the event, durable and
// visible to every process. Then, in the process that ran the check, DriftAlarms calls its subscribers — the
// low-latency path for a trigger living in the same server. A trigger in another process (a worker, a cron) polls
// `driftAlarmsSince(db, cursor)` instead; both see exactly the same alarms.
import type { Logger } from '../../core/logger.js';
import type { Db } from '../../storage/db.js';
import type { DriftChecksTable } from '../../storage/schema.js';
import { checkOf } from './store.js';
import type { DriftCheck, DriftTestName, WindowModality, WindowSpec } from './types.js';

export interface DriftAlarm {
  /** The `drift_checks` row that recorded the detection. */
  checkId: string;
  model: string;
  version: number;
  modality: WindowModality;
  window: { kind: WindowSpec['kind']; start: string; end: string; observations: number };
  /** The tests whose Holm-adjusted p-value is ≤ alpha. */
  tests: DriftTestName[];
  alpha: number;
  /** When the check ran (ISO-8601 UTC); the polling cursor. */
  at: string;
}

export type DriftAlarmListener = (alarm: DriftAlarm) => void | Promise<void>;

export class DriftAlarms {
  private readonly listeners = new Set<DriftAlarmListener>();

  constructor(private readonly logger?: Logger) {}

  /** Calls `listener` for every alarm raised in this process from now on; returns the unsubscribe function. */
  subscribe(listener: DriftAlarmListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Delivers `alarm` to every subscriber, one after another. The alarm is already recorded, so a subscriber that
   * throws is logged and the others still run: a failing retrain trigger must not hide the alarm from the rest.
   */
  async emit(alarm: DriftAlarm): Promise<void> {
    for (const l of [...this.listeners]) {
      try {
        await l(alarm);
      } catch (err) {
        this.logger?.error({ err, checkId: alarm.checkId, model: alarm.model }, 'a drift alarm subscriber failed');
      }
    }
  }
}

/** Alarms recorded after `after` (a previous alarm's `at`; all when absent), oldest first, optionally for one model. */
export async function driftAlarmsSince(db: Db, o: { after?: string; model?: string; limit?: number } = {}): Promise<DriftAlarm[]> {
  let q = db.selectFrom('drift_checks').selectAll().where('detected', '=', 1);
  if (o.after !== undefined) q = q.where('created_at', '>', o.after);
  if (o.model !== undefined) q = q.where('model_name', '=', o.model);
  const rows = await q
    .orderBy('created_at')
    .orderBy('id')
    .limit(o.limit ?? 100)
    .execute();
  return rows.map(alarmOf);
}

export function alarmOf(r: DriftChecksTable): DriftAlarm {
  return alarmOfCheck(checkOf(r));
}

/** The alarm a detecting check raises. */
export function alarmOfCheck(c: DriftCheck): DriftAlarm {
  return {
    checkId: c.id,
    model: c.model,
    version: c.version,
    modality: c.modality,
    window: c.window,
    tests: c.tests.filter((t) => t.detected).map((t) => t.test),
    alpha: c.alpha,
    at: c.createdAt,
  };
}
