// The per-image draws shared by the CXR and OCT renderers: independent random streams for anatomy,
// finding and acquisition, the finding's severity and the scanner style (either may be forced).
import { ValidationError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { CLASS_MODALITY, type Modality, NORMAL_CLASS, type SecondreadClass } from '../classes.js';
import { drawSeverity } from './severity.js';
import type { RenderOptions } from './types.js';

export interface RenderSetup<S extends string> {
  anatomyRng: Rng;
  findingRng: Rng;
  acquisitionRng: Rng;
  /** 0 for the normal class. */
  severity: number;
  scanner: S;
}

export function renderSetup<S extends string>(modality: Modality, scanners: readonly S[], cls: SecondreadClass, rng: Rng, opts: RenderOptions): RenderSetup<S> {
  if (CLASS_MODALITY[cls] !== modality) throw new ValidationError(`the ${modality.toUpperCase()} renderer cannot draw the class '${cls}'`);
  if (opts.scanner !== undefined && !(scanners as readonly string[]).includes(opts.scanner)) {
    throw new ValidationError(`unknown ${modality.toUpperCase()} scanner style '${opts.scanner}' (one of ${scanners.join(', ')})`);
  }
  // Streams are forked before anything else is drawn, so forcing severity or scanner (or drawing
  // the normal class) leaves the same patient under the same acquisition.
  const anatomyRng = rng.fork('anatomy');
  const findingRng = rng.fork('finding');
  const acquisitionRng = rng.fork('acquisition');
  const drawnSeverity = drawSeverity(rng);
  const drawnScanner = rng.pick(scanners);
  return {
    anatomyRng,
    findingRng,
    acquisitionRng,
    severity: cls === NORMAL_CLASS[modality] ? 0 : (opts.severity ?? drawnSeverity),
    scanner: (opts.scanner as S | undefined) ?? drawnScanner,
  };
}
