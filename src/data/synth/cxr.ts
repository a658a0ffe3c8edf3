// One synthetic chest X-ray: normal anatomy, the class's finding, then acquisition nuisance.
import { CLASS_MODALITY, type SecondreadClass } from '../classes.js';
import { ValidationError } from '../../core/errors.js';
import { acquireCxr, CXR_SCANNERS, type CxrScanner } from './cxr-acquisition.js';
import { drawCxrAnatomy } from './cxr-anatomy.js';
import { addCxrFinding } from './cxr-findings.js';
import { toUint8 } from './raster.js';
import type { Rng } from './rng.js';
import { drawSeverity } from './severity.js';
import type { RenderedImage, RenderOptions } from './types.js';

/** Above this size (px) the anatomy is drawn at half resolution. */
const WORKING_RESOLUTION_LIMIT = 640;

export function renderCxr(cls: SecondreadClass, rng: Rng, opts: RenderOptions): RenderedImage {
  if (CLASS_MODALITY[cls] !== 'cxr') throw new ValidationError(`renderCxr cannot draw the OCT class '${cls}'`);
  if (opts.scanner !== undefined && !(CXR_SCANNERS as readonly string[]).includes(opts.scanner)) {
    throw new ValidationError(`unknown CXR scanner style '${opts.scanner}' (one of ${CXR_SCANNERS.join(', ')})`);
  }
  // Separate streams so forcing severity or scanner does not change the patient's anatomy.
  const anatomyRng = rng.fork('anatomy');
  const findingRng = rng.fork('finding');
  const acquisitionRng = rng.fork('acquisition');
  const drawnSeverity = drawSeverity(rng);
  const drawnScanner = rng.pick(CXR_SCANNERS);
  const severity = cls === 'lung-normal' ? 0 : (opts.severity ?? drawnSeverity);
  const scanner = (opts.scanner as CxrScanner | undefined) ?? drawnScanner;

  // Anatomy and findings are smooth at the scale that matters, so large images are drawn at half
  // resolution and up-sampled during positioning; grain, blur and annotations are full resolution.
  const work = Math.max(opts.width, opts.height) > WORKING_RESOLUTION_LIMIT ? 0.5 : 1;
  const anatomy = drawCxrAnatomy(Math.round(opts.width * work), Math.round(opts.height * work), anatomyRng);
  addCxrFinding(anatomy, cls, severity, findingRng);
  const image = acquireCxr(anatomy.atten, opts.width, opts.height, scanner, acquisitionRng);
  return { width: opts.width, height: opts.height, data: toUint8(image), info: { cls, severity, scanner } };
}
