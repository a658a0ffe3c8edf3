// The serving observer (metrics) made safe to call from the hot path: each callback that throws is
// logged, never turned into a failed request or a batch whose requests are never answered.
import type { Logger } from '../core/logger.js';
import type { ServingObserver } from './types.js';

export function guardObserver(o: ServingObserver, logger: Logger): ServingObserver {
  const out: Record<string, unknown> = {};
  for (const k of ['batch', 'queueDepth', 'dropped', 'prediction', 'shadow', 'swapped'] as const) {
    const fn = o[k] as ((...args: unknown[]) => void) | undefined;
    if (!fn) continue;
    out[k] = (...args: unknown[]) => {
      try {
        fn.apply(o, args);
      } catch (err) {
        logger.warn({ err, callback: k }, 'serving observer failed');
      }
    };
  }
  return out as ServingObserver;
}
