// Turns a CXR attenuation map into a displayed radiograph the way different "scanners" would:
// positioning (rotation/shift/scale), exposure, detector blur, noise, console post-processing,
// gamma/windowing and burned-in annotations. Everything here is nuisance: it is drawn
// independently of the class, so a model that keys on it learns nothing useful.
import type { Rng } from '../../core/rng.js';
import { drawText, fillRect, textWidth } from './glyphs.js';
import { addNoise, blur, clamp, type Placement, type Raster, transform, unsharp } from './raster.js';

/**
 * - `cr`: computed radiography: noisier, softer, collimation borders, boxed side marker.
 * - `dr`: flat-panel digital radiography: low noise, edge-enhanced (unsharp-masked) processing.
 * - `film`: digitised film: compressed contrast, vignetting, grain, a white ID label.
 */
export const CXR_SCANNERS = ['cr', 'dr', 'film'] as const;
export type CxrScanner = (typeof CXR_SCANNERS)[number];

/** Applies a monotone function to every pixel through a 4096-entry lookup table over [lo, hi]. */
function applyCurve(r: Raster, lo: number, hi: number, fn: (v: number) => number): void {
  const n = 4096;
  const lut = new Float32Array(n + 1);
  for (let i = 0; i <= n; i++) lut[i] = fn(lo + ((hi - lo) * i) / n);
  const scale = n / (hi - lo);
  const { data } = r;
  for (let i = 0; i < data.length; i++) {
    const t = ((data[i] as number) - lo) * scale;
    const k = t <= 0 ? 0 : t >= n ? n - 1 : Math.floor(t);
    const f = clamp(t - k, 0, 1);
    data[i] = (lut[k] as number) * (1 - f) + (lut[k + 1] as number) * f;
  }
}

function randomDigits(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(rng.int(0, 9));
  return s;
}

/** A fake date/time/ID block made of random digits (no real PHI), as burned in by modalities. */
export function fakeIdLines(rng: Rng): string[] {
  const date = `${rng.int(2008, 2021)}-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`;
  const lines = [date, `ID ${randomDigits(rng, rng.int(6, 8))}`];
  if (rng.chance(0.5)) lines.push(`${String(rng.int(0, 23)).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}`);
  return lines;
}

/** Burns an "L"/"R" side marker and (often) an ID block into the displayed image. */
function burnAnnotations(img: Raster, scanner: CxrScanner, rng: Rng): void {
  const W = img.width;
  const H = img.height;
  if (rng.chance(0.85)) {
    const dot = Math.max(1, Math.round(rng.uniform(0.005, 0.009) * W));
    const letter = rng.pick(['L', 'R']);
    const x = rng.chance(0.5) ? rng.uniform(0.04, 0.12) * W : W - rng.uniform(0.04, 0.12) * W - 5 * dot;
    const y = rng.uniform(0.03, 0.18) * H;
    if (scanner === 'cr') {
      fillRect(img, x - dot, y - dot, 7 * dot, 9 * dot, 0.05);
      drawText(img, letter, x, y, dot, 0.98);
    } else {
      drawText(img, letter, x, y, dot, rng.chance(0.8) ? 1 : 0.02);
    }
  }
  if (scanner === 'film' || rng.chance(0.6)) {
    const dot = Math.max(1, Math.round(rng.uniform(0.0025, 0.004) * W));
    const lines = fakeIdLines(rng);
    const blockW = Math.max(...lines.map((l) => textWidth(l, dot)));
    const blockH = lines.length * 9 * dot;
    const left = rng.chance(0.5);
    const x = left ? rng.uniform(0.02, 0.05) * W : W - blockW - rng.uniform(0.02, 0.05) * W;
    const y = rng.chance(0.5) ? rng.uniform(0.02, 0.05) * H : H - blockH - rng.uniform(0.02, 0.05) * H;
    const label = scanner === 'film';
    if (label) fillRect(img, x - 2 * dot, y - 2 * dot, blockW + 4 * dot, blockH + 3 * dot, 0.95);
    lines.forEach((line, k) => drawText(img, line, x, y + k * 9 * dot, dot, label ? 0.05 : 0.97));
  }
}

/**
 * Converts the attenuation map (possibly drawn at a lower working resolution) into the final
 * width x height [0, 1] image. `px` is the size of one 1024-grid pixel in output pixels, so noise
 * grain and blur scale with the image size.
 */
export function acquireCxr(atten: Raster, width: number, height: number, scanner: CxrScanner, rng: Rng): { image: Raster; placement: Placement } {
  const W = width;
  const px = W / 1024;

  // Patient positioning (and up-sampling from the working resolution in the same pass); returned so
  // boxes drawn on the anatomy follow the patient (placePoint).
  const placement: Placement = {
    width,
    height,
    angle: rng.clippedNormal(0, 0.035, -0.09, 0.09),
    scale: rng.uniform(0.93, 1.05),
    shiftX: rng.clippedNormal(0, 0.02, -0.05, 0.05) * W,
    shiftY: rng.clippedNormal(0, 0.02, -0.05, 0.05) * height,
    fill: 0,
  };
  const img = transform(atten, placement);

  // Exposure: transmitted fraction -> detector signal (dark = air, white = bone).
  const k = rng.uniform(0.8, 1.6);
  const norm = 1 - Math.exp(-k * 0.85);
  applyCurve(img, -0.5, 2, (a) => (1 - Math.exp(-k * Math.max(0, a))) / norm);

  blur(img, rng.uniform(0.6, 1.8) * px);
  if (scanner === 'dr') unsharp(img, 12 * px, rng.uniform(0.3, 0.8));
  const grain = scanner === 'cr' ? rng.uniform(0.015, 0.035) : scanner === 'dr' ? rng.uniform(0.006, 0.016) : rng.uniform(0.01, 0.022);
  addNoise(img, grain, rng);
  if (scanner === 'film') {
    // Film grain is coarser than detector noise; the lightbox/scanner vignettes the corners.
    blur(img, 0.8 * px);
    const v = rng.uniform(0.08, 0.2);
    const H = img.height;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const dx = (x - W / 2) / (W / 2);
        const dy = (y - H / 2) / (H / 2);
        img.data[y * W + x] = (img.data[y * W + x] as number) * (1 - v * (dx * dx + dy * dy) * 0.5);
      }
    }
  }

  // Console processing: contrast, gamma and window (brightness) vary by site and operator.
  const gamma = rng.uniform(0.75, 1.35);
  const lo = scanner === 'film' ? rng.uniform(-0.2, -0.08) : rng.uniform(-0.05, 0.08);
  const hi = scanner === 'film' ? rng.uniform(1.08, 1.2) : rng.uniform(0.92, 1.08);
  applyCurve(img, -0.5, 1.5, (v) => Math.pow(clamp((v - lo) / (hi - lo), 0, 1), gamma));

  if (scanner === 'cr' && rng.chance(0.6)) collimate(img, rng);
  burnAnnotations(img, scanner, rng);
  return { image: img, placement };
}

/** Collimation: the unexposed margin outside the collimator blades is flat white or masked black. */
function collimate(img: Raster, rng: Rng): void {
  const W = img.width;
  const H = img.height;
  const value = rng.chance(0.5) ? 0.97 : 0.0;
  const left = rng.uniform(0, 0.05) * W;
  const right = rng.uniform(0, 0.05) * W;
  const top = rng.uniform(0, 0.04) * H;
  const bottom = rng.uniform(0, 0.05) * H;
  fillRect(img, 0, 0, left, H, value);
  fillRect(img, W - right, 0, right, H, value);
  fillRect(img, 0, 0, W, top, value);
  fillRect(img, 0, H - bottom, W, bottom, value);
}
