// The rollout's gauges in /metrics, computed from the database at each scrape (like workflow/gauges.ts), so a
// rollback made by `secondread rollout step` in another process shows on every server:
//   secondread_canary_weight{model}            the active rollout's canary share (0 when none is active)
//   secondread_canary_degraded{model}          1 for an hour after the gate rolled a canary back automatically
//   secondread_canary_guard{model,guard,arm}   each guard's figure in the active step's last judgement
//   secondread_rollouts{model,status}          rollouts by how they stand (active, promoted, rolled_back)
import { Gauge } from 'prom-client';

import { type Clock, systemClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../monitoring/metrics.js';
import { type Rollout, ROLLOUT_STATUSES, type RolloutService } from './service.js';

/** How long `secondread_canary_degraded` stays 1 after an automatic rollback: long enough for an alert's `for` and its notification. */
export const DEGRADED_HOLD_MS = 60 * 60 * 1000;

export interface RolloutGauges {
  weight: Gauge<'model'>;
  degraded: Gauge<'model'>;
  guard: Gauge<'model' | 'guard' | 'arm'>;
  rollouts: Gauge<'model' | 'status'>;
}

export function rolloutGauges(metrics: Pick<Metrics, 'registry'>): RolloutGauges {
  const registers = [metrics.registry];
  return {
    weight: new Gauge({
      name: 'secondread_canary_weight',
      help: 'Share of studies the active rollout sends to the canary (0: none active)',
      labelNames: ['model'],
      registers,
    }),
    degraded: new Gauge({
      name: 'secondread_canary_degraded',
      help: 'Whether a canary was rolled back automatically by its guards within the last hour (1) or not (0)',
      labelNames: ['model'],
      registers,
    }),
    guard: new Gauge({
      name: 'secondread_canary_guard',
      help: 'Each guard figure of the active canary step as last judged (agreement and QA false-clear rates, error rate, p95 latency in ms), per arm',
      labelNames: ['model', 'guard', 'arm'],
      registers,
    }),
    rollouts: new Gauge({
      name: 'secondread_rollouts',
      help: 'Rollouts per model by status (active, promoted, rolled_back)',
      labelNames: ['model', 'status'],
      registers,
    }),
  };
}

/** Whether a rollout ended by the gate's own rollback (not by hand) within the hold. */
export function degradedRecently(r: Rollout, now: Date): boolean {
  return (
    r.status === 'rolled_back' && r.lastJudgement?.decision === 'rollback' && r.endedAt !== null && now.getTime() - Date.parse(r.endedAt) <= DEGRADED_HOLD_MS
  );
}

/**
 * Sets the gauges from the rollouts; every model in `models` (the registered ones) gets its series even without a
 * rollout (weight 0, not degraded, 0 per status), so dashboards and alerts see 0 rather than nothing.
 */
export function setRolloutGauges(g: RolloutGauges, rollouts: readonly Rollout[], now: Date, models: readonly string[] = []): void {
  g.weight.reset();
  g.degraded.reset();
  g.guard.reset();
  g.rollouts.reset();
  for (const model of models) {
    g.weight.set({ model }, 0);
    g.degraded.set({ model }, 0);
    for (const status of ROLLOUT_STATUSES) g.rollouts.set({ model, status }, 0);
  }
  const newest = new Map<string, Rollout>();
  const counts = new Map<string, number>();
  for (const r of rollouts) {
    if (!newest.has(r.model) || r.status === 'active') newest.set(r.model, r);
    counts.set(`${r.model}\u0000${r.status}`, (counts.get(`${r.model}\u0000${r.status}`) ?? 0) + 1);
  }
  for (const [k, n] of counts) {
    const [model, status] = k.split('\u0000') as [string, string];
    g.rollouts.set({ model, status }, n);
  }
  for (const [model, r] of newest) {
    g.weight.set({ model }, r.status === 'active' ? r.weight : 0);
    g.degraded.set({ model }, degradedRecently(r, now) ? 1 : 0);
    if (r.status !== 'active') continue;
    for (const x of r.lastJudgement?.guards ?? []) {
      if (x.canary !== null && Number.isFinite(x.canary)) g.guard.set({ model, guard: x.guard, arm: 'canary' }, x.canary);
      if (x.production !== null && Number.isFinite(x.production)) g.guard.set({ model, guard: x.guard, arm: 'production' }, x.production);
    }
  }
}

/** Refreshes the gauges before each scrape; a failing database costs the refresh, not the scrape. */
export function collectRolloutGauges(
  service: Pick<RolloutService, 'list'>,
  metrics: Pick<Metrics, 'registry' | 'addCollector'>,
  logger: Logger,
  o: { clock?: Clock; models?: () => Promise<string[]> } = {},
): RolloutGauges {
  const g = rolloutGauges(metrics);
  const clock = o.clock ?? systemClock;
  metrics.addCollector(async () => {
    try {
      setRolloutGauges(g, await service.list(), clock.now(), (await o.models?.()) ?? []);
    } catch (err) {
      logger.warn({ err }, 'could not refresh the rollout gauges');
    }
  });
  return g;
}
