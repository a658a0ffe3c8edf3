// Turns an OCT reflectivity map into a displayed B-scan: speckle (with scanner-dependent frame
// averaging), noise floor, log compression, optics blur, scan tilt/position, brightness and
// burned-in annotations. All of it is class-independent nuisance.
import type { Rng } from '../../core/rng.js';
import { fakeIdLines } from './cxr-acquisition.js';
import { drawText, fillRect } from './glyphs.js';
import { blur, clamp, createRaster, type Raster, transform } from './raster.js';

/**
 * - `averaged`: many frames averaged (Spectralis-like): fine, smooth speckle, black vitreous.
 * - `single`: few frames (Cirrus-like): coarse speckle, grey noise floor, lower contrast, an
 *   eye/ID caption.
 * - `registered`: averaged, then rotated/shifted for registration, leaving white wedges at the
 *   borders, as many images of the public OCT dataset show.
 */
export const OCT_SCANNERS = ['averaged', 'single', 'registered'] as const;
export type OctScanner = (typeof OCT_SCANNERS)[number];

export function acquireOct(refl: Raster, scanner: OctScanner, rng: Rng): Raster {
  const W = refl.width;
  const H = refl.height;
  const px = W / 512;

  // Fully developed speckle is exponentially distributed; averaging frames (here: blurring the
  // speckle field) shrinks its variance. Lateral grain is coarser than axial.
  const speckle = createRaster(W, H);
  for (let i = 0; i < speckle.data.length; i++) speckle.data[i] = -Math.log(1 - rng.next() * 0.999999);
  const smooth = scanner === 'single' ? rng.uniform(0.5, 0.9) : rng.uniform(1.1, 1.8);
  blur(speckle, smooth * 1.3 * px, smooth * 0.8 * px);

  const floor = scanner === 'single' ? rng.uniform(0.002, 0.005) : rng.uniform(0.0006, 0.0015);
  const dbLo = rng.uniform(-26, -22) + (scanner === 'single' ? -2 : 0);
  const dbHi = rng.uniform(-1.5, 1.5);
  const img = createRaster(W, H);
  for (let i = 0; i < img.data.length; i++) {
    const s = (refl.data[i] as number) * (speckle.data[i] as number) + floor * -Math.log(1 - rng.next() * 0.999999);
    img.data[i] = clamp((10 * Math.log10(s + 1e-6) - dbLo) / (dbHi - dbLo), 0, 1);
  }
  blur(img, 0.6 * px, 0.4 * px);

  // Where the scan sits in the frame, and how it is tilted.
  const registered = scanner === 'registered';
  const angle = rng.clippedNormal(0, registered ? 0.06 : 0.035, -0.12, 0.12);
  const out = transform(img, {
    angle,
    scale: rng.uniform(0.95, 1.05),
    shiftX: rng.clippedNormal(0, registered ? 0.03 : 0.008, -0.06, 0.06) * W,
    shiftY: rng.clippedNormal(0, 0.06, -0.14, 0.14) * H,
    fill: registered ? 1 : 0,
  });

  const gamma = rng.uniform(0.8, 1.25);
  const gain = scanner === 'single' ? rng.uniform(0.75, 0.95) : rng.uniform(0.9, 1.05);
  for (let i = 0; i < out.data.length; i++) {
    const v = out.data[i] as number;
    out.data[i] = v >= 1 && registered ? 1 : Math.pow(clamp(v * gain, 0, 1), gamma);
  }

  if (scanner === 'single' && rng.chance(0.6)) {
    const dot = Math.max(1, Math.round(rng.uniform(0.004, 0.006) * W));
    const lines = [rng.pick(['OD', 'OS']), ...fakeIdLines(rng).slice(0, 1)];
    lines.forEach((line, k) => drawText(out, line, 0.02 * W, 0.02 * H + k * 9 * dot, dot, 0.9));
  }
  if (rng.chance(0.3)) {
    // A scale bar in the bottom corner.
    const bar = 0.1 * W;
    fillRect(out, W - bar - 0.03 * W, H - 0.04 * H, bar, Math.max(1, 0.006 * H), 0.95);
  }
  return out;
}
