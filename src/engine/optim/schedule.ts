// Learning-rate schedules: pure functions of the step, evaluated in JS and fed to the training graph as a scalar
// input each step, so changing the schedule never changes (or recompiles) the graph.
import { EngineError } from '../errors.js';

/** Maps a 0-based optimizer step to a learning rate. */
export type LrSchedule = (step: number) => number;

export function constantLr(lr: number): LrSchedule {
  checkRate('lr', lr);
  return () => lr;
}

export interface WarmupCosineOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  peakLr: number;
  /** Steps of linear warm-up from `peakLr / warmupSteps` (step 0) to `peakLr` (step warmupSteps - 1). */
  warmupSteps: number;
  /** Total steps; cosine decay runs from the end of warm-up to this step, after which the rate stays at `minLr`. */
  totalSteps: number;
  /** Floor of the cosine decay (default 0). */
  minLr?: number;
}

/**
 * Linear warm-up then half-cosine decay to `minLr`. Warm-up starts at peakLr/warmupSteps rather than 0 so the very
 * first step already moves the weights (a zero-rate step would waste a batch and leave AdamW's moments skewed).
 */
export function warmupCosine(opts: WarmupCosineOptions): LrSchedule {
  const { peakLr, warmupSteps, totalSteps } = opts;
  const minLr = opts.minLr ?? 0;
  checkRate('peakLr', peakLr);
  checkRate('minLr', minLr);
  if (minLr > peakLr) throw new EngineError('invalid_argument', `minLr (${minLr}) must not exceed peakLr (${peakLr})`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new EngineError('invalid_argument', `warmupSteps must be a non-negative integer, got ${warmupSteps}`);
  }
  if (!Number.isInteger(totalSteps) || totalSteps < warmupSteps || totalSteps < 1) {
    throw new EngineError('invalid_argument', `totalSteps must be an integer >= max(1, warmupSteps), got ${totalSteps}`);
  }
  const decaySteps = totalSteps - warmupSteps;
  return (step) => {
    if (step < 0) throw new EngineError('invalid_argument', `step must be >= 0, got ${step}`);
    if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
    if (decaySteps === 0) return peakLr;
    const progress = Math.min(1, (step - warmupSteps) / decaySteps);
    return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}

function checkRate(name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) throw new EngineError('invalid_argument', `${name} must be a finite number >= 0, got ${v}`);
}
