// One synthetic OCT B-scan: normal layered retina, the class's finding, then acquisition nuisance.
import type { Rng } from '../../core/rng.js';
import type { SecondreadClass } from '../classes.js';
import { acquireOct, OCT_SCANNERS } from './oct-acquisition.js';
import { drawOctLayout, drawOctVessels, rasterizeOct } from './oct-anatomy.js';
import { octFinding } from './oct-findings.js';
import { toUint8 } from './raster.js';
import { renderSetup } from './render-setup.js';
import type { RenderedImage, RenderOptions } from './types.js';

export function renderOct(cls: SecondreadClass, rng: Rng, opts: RenderOptions): RenderedImage {
  const { anatomyRng, findingRng, acquisitionRng, severity, scanner } = renderSetup('oct', OCT_SCANNERS, cls, rng, opts);
  const layout = drawOctLayout(opts.width, opts.height, anatomyRng);
  const finding = octFinding(cls, severity, findingRng);
  finding.editLayout(layout);
  const refl = rasterizeOct(layout, anatomyRng);
  finding.drawInto(refl, layout);
  drawOctVessels(refl, layout);
  const image = acquireOct(refl, scanner, acquisitionRng);
  return { width: opts.width, height: opts.height, data: toUint8(image), info: { cls, severity, scanner } };
}
