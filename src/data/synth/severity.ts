// How conspicuous a finding is. Drawn per image so a class spans subtle (hard even for a good
// model, especially after downscaling to 64x64) to obvious. The spread is the main difficulty knob.
import type { Rng } from '../../core/rng.js';

/** Lowest severity drawn: below this a finding is practically invisible and the label is noise. */
export const MIN_SEVERITY = 0.03;

/** Shape of the severity distribution: above 1 skews towards subtle findings. */
export const SEVERITY_EXPONENT = 1.2;

/**
 * Severity in [MIN_SEVERITY, 1], MIN + (1 - MIN) * u^SEVERITY_EXPONENT: about a quarter of the
 * findings fall below 0.2, where they are subtle at full size and mostly gone at 64x64.
 */
export function drawSeverity(rng: Rng): number {
  return MIN_SEVERITY + (1 - MIN_SEVERITY) * Math.pow(rng.next(), SEVERITY_EXPONENT);
}
