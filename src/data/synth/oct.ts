// One synthetic OCT B-scan: normal layered retina, the class's finding, then acquisition nuisance.
import { CLASS_MODALITY, type SecondreadClass } from '../classes.js';
import { ValidationError } from '../../core/errors.js';
import { acquireOct, OCT_SCANNERS, type OctScanner } from './oct-acquisition.js';
import { drawOctLayout, drawOctVessels, rasterizeOct } from './oct-anatomy.js';
import { octFinding } from './oct-findings.js';
import { toUint8 } from './raster.js';
import type { Rng } from './rng.js';
import { drawSeverity } from './severity.js';
import type { RenderedImage, RenderOptions } from './types.js';

export function renderOct(cls: SecondreadClass, rng: Rng, opts: RenderOptions): RenderedImage {
  if (CLASS_MODALITY[cls] !== 'oct') throw new ValidationError(`renderOct cannot draw the chest X-ray class '${cls}'`);
  if (opts.scanner !== undefined && !(OCT_SCANNERS as readonly string[]).includes(opts.scanner)) {
    throw new ValidationError(`unknown OCT scanner style '${opts.scanner}' (one of ${OCT_SCANNERS.join(', ')})`);
  }
  // Separate streams so forcing severity or scanner does not change the eye's anatomy.
  const anatomyRng = rng.fork('anatomy');
  const findingRng = rng.fork('finding');
  const acquisitionRng = rng.fork('acquisition');
  const drawnSeverity = drawSeverity(rng);
  const drawnScanner = rng.pick(OCT_SCANNERS);
  const severity = cls === 'oct-normal' ? 0 : (opts.severity ?? drawnSeverity);
  const scanner = (opts.scanner as OctScanner | undefined) ?? drawnScanner;

  const layout = drawOctLayout(opts.width, opts.height, anatomyRng);
  const finding = octFinding(cls, severity, findingRng);
  finding.editLayout(layout);
  const refl = rasterizeOct(layout, anatomyRng);
  finding.drawInto(refl, layout);
  drawOctVessels(refl, layout);
  const image = acquireOct(refl, scanner, acquisitionRng);
  return { width: opts.width, height: opts.height, data: toUint8(image), info: { cls, severity, scanner } };
}
