// What monitoring observes of serving: the events the serving layer reports (batches, queue depth, drops,
// predictions with their route, shadow comparisons, alias swaps). Declared here, by the layer that consumes
// the events, so serving/ (above) imports this contract and monitoring/ never imports serving/. Implemented by
// metrics.ts (Prometheus); serving/types.ts re-exports it for serving's callers.
import type { ClassProbability } from '../core/probabilities.js';

export interface ModelRefLabel {
  model: string;
  version: number;
}

/** How a prediction reached its version: the default `production` alias, the canary split, a named alias or version. */
export type Route = 'production' | 'canary' | 'alias' | 'version';

export interface ServingObserver {
  batch?(m: ModelRefLabel, e: { size: number; queueMs: number[]; computeMs: number }): void;
  queueDepth?(m: ModelRefLabel, depth: number): void;
  dropped?(m: ModelRefLabel, reason: string): void;
  prediction?(m: ModelRefLabel & { route: Route }, top: ClassProbability, latencyMs: number): void;
  shadow?(m: { model: string; productionVersion: number; shadowVersion: number }, agree: boolean): void;
  swapped?(m: { model: string; alias: string; from: number | null; to: number }): void;
}

/** One observer that reports every event to each of `observers` in turn (metrics, the rollout's serving figures…). */
export function combineObservers(...observers: ServingObserver[]): ServingObserver {
  const out: ServingObserver = {};
  for (const k of ['batch', 'queueDepth', 'dropped', 'prediction', 'shadow', 'swapped'] as const) {
    const fns = observers.map((o) => o[k]?.bind(o)).filter((f) => f !== undefined) as ((...args: unknown[]) => void)[];
    if (fns.length) (out as Record<string, unknown>)[k] = (...args: unknown[]) => fns.forEach((f) => f(...args));
  }
  return out;
}
