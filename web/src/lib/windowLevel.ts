// Window/level and the viewer's pan/zoom, as pure maths (the canvas component only draws).
//
// Window/level maps stored grey values to display values linearly: values below
// `center - width/2` are black, above `center + width/2` white, in between a ramp — narrowing the
// window raises contrast in the band a radiologist cares about (a lung field, a retinal layer).
// The images we serve are 8-bit greyscale (PNG/JPEG), so the grey range is 0…255 and a 256-entry
// lookup table applies any window in one pass.
//
// The view maps image pixels to canvas pixels: screen = image × scale + offset.

export interface WindowLevel {
  /** Grey value mapped to mid-grey. */
  center: number;
  /** Grey values spanned from black to white (≥ MIN_WIDTH). */
  width: number;
}

/** Identity: 0 → black, 255 → white, every grey unchanged. */
export const FULL_WINDOW: WindowLevel = { center: 127.5, width: 255 };
export const MIN_WIDTH = 1;
export const MAX_WIDTH = 512;
export const MIN_CENTER = -128;
export const MAX_CENTER = 383;

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

export function normalizeWindow(w: WindowLevel): WindowLevel {
  return { center: clamp(w.center, MIN_CENTER, MAX_CENTER), width: clamp(w.width, MIN_WIDTH, MAX_WIDTH) };
}

/** Display value (0…255) of each grey value 0…255 under the window; `invert` swaps black and white. */
export function windowLut(w: WindowLevel, invert = false): Uint8ClampedArray {
  const { center, width } = normalizeWindow(w);
  const lo = center - width / 2;
  const lut = new Uint8ClampedArray(256);
  for (let g = 0; g < 256; g++) {
    const v = clamp(Math.round(((g - lo) / width) * 255), 0, 255);
    lut[g] = invert ? 255 - v : v;
  }
  return lut;
}

/** Grey value of each RGBA pixel (ITU-R BT.601 luma; our images are grey, so R = G = B already). */
export function toGray(rgba: Uint8ClampedArray): Uint8Array {
  const n = rgba.length >> 2;
  const gray = new Uint8Array(n);
  for (let i = 0; i < n; i++) gray[i] = Math.round(0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!);
  return gray;
}

/** Writes the windowed grey of every pixel into `out` (RGBA, opaque). */
export function applyLut(gray: Uint8Array, lut: Uint8ClampedArray, out: Uint8ClampedArray): void {
  if (out.length !== gray.length * 4) throw new RangeError(`output holds ${out.length / 4} pixels, input ${gray.length}`);
  for (let i = 0; i < gray.length; i++) {
    const v = lut[gray[i]!]!;
    out[i * 4] = v;
    out[i * 4 + 1] = v;
    out[i * 4 + 2] = v;
    out[i * 4 + 3] = 255;
  }
}

/** A window spanning the 1st…99th percentile of the image's greys (ignores a few burnt-in labels or black borders). */
export function autoWindow(gray: Uint8Array): WindowLevel {
  if (gray.length === 0) return FULL_WINDOW;
  const hist = new Uint32Array(256);
  for (let i = 0; i < gray.length; i++) hist[gray[i]!]!++;
  const percentile = (q: number): number => {
    const target = q * (gray.length - 1);
    let seen = 0;
    for (let g = 0; g < 256; g++) {
      seen += hist[g]!;
      if (seen > target) return g;
    }
    return 255;
  };
  const lo = percentile(0.01);
  const hi = percentile(0.99);
  return normalizeWindow({ center: (lo + hi) / 2, width: Math.max(MIN_WIDTH, hi - lo) });
}

/** Mouse drag: horizontal motion widens/narrows the window, vertical motion moves the level (the usual PACS convention). */
export function dragWindow(w: WindowLevel, dx: number, dy: number, greysPerPixel = 1): WindowLevel {
  return normalizeWindow({ center: w.center + dy * greysPerPixel, width: w.width + dx * greysPerPixel });
}

export type WindowKey = 'narrower' | 'wider' | 'darker' | 'brighter';

/** Keyboard steps: `[`/`]` change the width, `,`/`.` the level (a larger step with Shift). */
export function stepWindow(w: WindowLevel, key: WindowKey, big = false): WindowLevel {
  const step = big ? 20 : 4;
  switch (key) {
    case 'narrower':
      return normalizeWindow({ ...w, width: w.width - step });
    case 'wider':
      return normalizeWindow({ ...w, width: w.width + step });
    // A higher level puts more greys below the window: the image gets darker.
    case 'darker':
      return normalizeWindow({ ...w, center: w.center + step });
    case 'brighter':
      return normalizeWindow({ ...w, center: w.center - step });
  }
}

export interface View {
  scale: number;
  x: number;
  y: number;
}

export const MIN_SCALE = 0.05;
export const MAX_SCALE = 32;

/** The whole image, centred, as large as the canvas allows. */
export function fitView(imageW: number, imageH: number, canvasW: number, canvasH: number): View {
  if (imageW <= 0 || imageH <= 0) return { scale: 1, x: 0, y: 0 };
  const scale = clamp(Math.min(canvasW / imageW, canvasH / imageH), MIN_SCALE, MAX_SCALE);
  return { scale, x: (canvasW - imageW * scale) / 2, y: (canvasH - imageH * scale) / 2 };
}

/** Zooms by `factor` keeping the image point under canvas point (px, py) where it is. */
export function zoomAt(v: View, factor: number, px: number, py: number): View {
  const scale = clamp(v.scale * factor, MIN_SCALE, MAX_SCALE);
  const f = scale / v.scale;
  return { scale, x: px - (px - v.x) * f, y: py - (py - v.y) * f };
}

export function panBy(v: View, dx: number, dy: number): View {
  return { scale: v.scale, x: v.x + dx, y: v.y + dy };
}

/** The image pixel under a canvas point. */
export function toImage(v: View, px: number, py: number): { x: number; y: number } {
  return { x: (px - v.x) / v.scale, y: (py - v.y) / v.scale };
}
