// What the serving process saw per model version, for the canary's error-rate and latency guards: a
// ServingObserver that counts answered and dropped requests and a latency histogram per (model, version)
// in memory, and writes one `rollout_serving_stats` row per version every few seconds. The guards read the
// sums from the DB, so `secondread rollout step` in another process judges the same figures the server saw
// (with N API replicas, each one writes its own rows and the sums add up).
import { type Clock, systemClock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { ModelRefLabel, Route, ServingObserver } from '../monitoring/serving-observer.js';
import type { Db } from '../storage/db.js';
import { histogramQuantile } from './statistics.js';

/** Upper edges (ms) of the latency buckets; one overflow bucket follows. */
export const LATENCY_EDGES_MS = [5, 10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000];
/** A dropped request counts as an error unless the client went away or a shadow was skipped (not the version's fault). */
const NOT_AN_ERROR = new Set(['client_gone', 'shadow_skipped']);
export const DEFAULT_FLUSH_MS = 5000;

interface Tally {
  requests: number;
  errors: number;
  latency: number[];
}

const emptyTally = (): Tally => ({ requests: 0, errors: 0, latency: new Array<number>(LATENCY_EDGES_MS.length + 1).fill(0) });

function bucketOf(latencyMs: number): number {
  const i = LATENCY_EDGES_MS.findIndex((e) => latencyMs <= e);
  return i === -1 ? LATENCY_EDGES_MS.length : i;
}

export class ServingStatsRecorder implements ServingObserver {
  private tallies = new Map<string, { model: string; version: number; t: Tally }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: { db: Db; logger: Logger; clock?: Clock },
    private readonly o: { flushMs?: number } = {},
  ) {
    const every = o.flushMs ?? DEFAULT_FLUSH_MS;
    if (every > 0) {
      this.timer = setInterval(() => void this.flush(), every);
      this.timer.unref();
    }
  }

  private tally(m: ModelRefLabel): Tally {
    const k = `${m.model}\u0000${m.version}`;
    let e = this.tallies.get(k);
    if (!e) {
      e = { model: m.model, version: m.version, t: emptyTally() };
      this.tallies.set(k, e);
    }
    return e.t;
  }

  prediction(m: ModelRefLabel & { route: Route }, _top: unknown, latencyMs: number): void {
    const t = this.tally(m);
    t.requests += 1;
    t.latency[bucketOf(latencyMs)]! += 1;
  }

  dropped(m: ModelRefLabel, reason: string): void {
    if (NOT_AN_ERROR.has(reason)) return;
    const t = this.tally(m);
    t.requests += 1;
    t.errors += 1;
  }

  /** Writes what was counted since the last flush (one row per version) and starts counting afresh. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const taken = [...this.tallies.values()];
      this.tallies = new Map();
      if (taken.length === 0) return;
      const at = (this.deps.clock ?? systemClock).now().toISOString();
      try {
        await this.deps.db
          .insertInto('rollout_serving_stats')
          .values(
            taken.map((e) => ({
              id: newId('rss_'),
              model_name: e.model,
              model_version: e.version,
              at,
              requests: e.t.requests,
              errors: e.t.errors,
              latency_counts_json: JSON.stringify(e.t.latency),
            })),
          )
          .execute();
      } catch (err) {
        // The guards then see fewer requests and wait longer; serving itself is not affected.
        this.deps.logger.warn({ err }, 'could not record serving figures for the rollout guards');
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

/** The serving figures of one version since `since`: requests, errors, p95 latency (bucket upper edge, ms). */
export async function servingFigures(
  db: Db,
  model: string,
  version: number,
  since: string,
): Promise<{ requests: number; errors: number; p95Ms: number | null }> {
  const rows = await db
    .selectFrom('rollout_serving_stats')
    .select(['requests', 'errors', 'latency_counts_json'])
    .where('model_name', '=', model)
    .where('model_version', '=', version)
    .where('at', '>', since)
    .execute();
  const counts = new Array<number>(LATENCY_EDGES_MS.length + 1).fill(0);
  let requests = 0;
  let errors = 0;
  for (const r of rows) {
    requests += Number(r.requests);
    errors += Number(r.errors);
    (JSON.parse(r.latency_counts_json) as number[]).forEach((v, i) => {
      if (i < counts.length) counts[i]! += v;
    });
  }
  return { requests, errors, p95Ms: histogramQuantile(LATENCY_EDGES_MS, counts, 0.95) };
}
