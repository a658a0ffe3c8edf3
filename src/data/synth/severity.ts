// How conspicuous a finding is. Drawn per image so a class spans subtle (hard even for a good
// model, especially after downscaling to 64x64) to obvious. The spread is the main difficulty knob.
import type { Rng } from './rng.js';

/** Lowest severity drawn: below this a finding is practically invisible and the label is noise. */
export const MIN_SEVERITY = 0.06;

/**
 * Severity in [MIN_SEVERITY, 1]: u^0.85 skews a little towards conspicuous findings; about one
 * image in seven falls below 0.2, where the finding is subtle at full size and mostly gone at 64x64.
 */
export function drawSeverity(rng: Rng): number {
  return MIN_SEVERITY + (1 - MIN_SEVERITY) * Math.pow(rng.next(), 0.85);
}
