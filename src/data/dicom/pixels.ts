// The pixel pipeline from decoded samples to 8-bit grey (PS3.3 C.7.6.3, C.11.1, C.11.2, PS3.4 N.2):
//   stored values   BitsAllocated/BitsStored/HighBit, PixelRepresentation (two's complement)
//   → modality      RescaleSlope·v + RescaleIntercept
//   → VOI           the first WindowCenter/WindowWidth pair when present (LINEAR, LINEAR_EXACT or
//                   SIGMOID per VOILUTFunction); else the first VOI LUT Sequence item; else the
//                   min…max of the image
//   → presentation  MONOCHROME1 inverted so that, as for MONOCHROME2, 0 is black
//
// Why the window wins over a VOI LUT when a file has both: both are "the modality's default", but
// the window is a linear map the viewer can show and adjust (its numbers are the viewer's default
// W/L, so the radiologist and the model start from the same picture), and it is the one every
// vendor writes — VOI LUT sequences are vendor processing curves that differ between devices of the
// same department. Colour (RGB, YBR_FULL) becomes luminance (ITU-R BT.601 weights; for YBR the Y
// plane itself).
import type { DecodedFrame } from './codecs.js';
import { DicomUnsupportedPixelsError } from './errors.js';

export interface PixelAttributes {
  rows: number;
  columns: number;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  photometric: string;
  planarConfiguration: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  window?: { center: number; width: number; fn: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID' };
  voiLut?: { first: number; bits: number; data: ArrayLike<number> };
}

export interface AppliedWindow {
  source: 'window' | 'voi-lut' | 'min-max';
  center: number;
  width: number;
}

/** Stored values of one grey frame (or luminance of a colour frame), before any LUT. */
export function storedValues(frame: DecodedFrame, a: PixelAttributes, native: boolean): Float64Array {
  const pixels = a.rows * a.columns;
  const spp = frame.samplesPerPixel;
  const out = new Float64Array(pixels);
  const bytes = frame.bytes;
  const sample = (index: number): number => {
    if (frame.bytesPerSample === 1) return bytes[index]!;
    return bytes[2 * index]! | (bytes[2 * index + 1]! << 8);
  };
  if (spp === 1) {
    const bits = a.bitsStored;
    const shift = native ? Math.max(0, a.highBit + 1 - bits) : 0;
    const mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
    const sign = 1 << (bits - 1);
    for (let p = 0; p < pixels; p++) {
      let v = (sample(p) >>> shift) & mask;
      if (a.signed && v & sign) v -= 1 << bits;
      out[p] = v;
    }
    return out;
  }
  if (spp !== 3) throw new DicomUnsupportedPixelsError(`${spp} samples per pixel are not supported (1 or 3)`, { samplesPerPixel: spp });
  const planar = native && a.planarConfiguration === 1;
  const at = (p: number, c: number) => sample(planar ? c * pixels + p : p * 3 + c);
  const ybr = !frame.rgb && a.photometric.startsWith('YBR');
  for (let p = 0; p < pixels; p++) out[p] = ybr ? at(p, 0) : 0.299 * at(p, 0) + 0.587 * at(p, 1) + 0.114 * at(p, 2);
  return out;
}

/** Applies modality rescale, VOI and MONOCHROME1 inversion: 8-bit grey, 0 = black. */
export function toGrey8(stored: Float64Array, a: PixelAttributes): { data: Uint8Array; window: AppliedWindow } {
  const n = stored.length;
  const modality = new Float64Array(n);
  for (let i = 0; i < n; i++) modality[i] = stored[i]! * a.rescaleSlope + a.rescaleIntercept;
  const out = new Uint8Array(n);
  let window: AppliedWindow;
  if (a.window && a.window.width >= 1) {
    const { center: c, width: w, fn } = a.window;
    window = { source: 'window', center: c, width: w };
    for (let i = 0; i < n; i++) out[i] = applyWindow(modality[i]!, c, w, fn);
  } else if (a.voiLut && a.voiLut.data.length > 0) {
    const { first, bits, data } = a.voiLut;
    const max = 2 ** bits - 1;
    window = { source: 'voi-lut', center: first + data.length / 2, width: data.length };
    for (let i = 0; i < n; i++) {
      const index = Math.min(data.length - 1, Math.max(0, Math.round(modality[i]!) - first));
      out[i] = Math.round((data[index]! / max) * 255);
    }
  } else {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = modality[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const width = Math.max(1, hi - lo);
    window = { source: 'min-max', center: lo + width / 2, width };
    for (let i = 0; i < n; i++) out[i] = Math.round(((modality[i]! - lo) / width) * 255);
  }
  if (a.photometric === 'MONOCHROME1') for (let i = 0; i < n; i++) out[i] = 255 - out[i]!;
  return { data: out, window };
}

function applyWindow(x: number, c: number, w: number, fn: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID'): number {
  let y: number;
  if (fn === 'SIGMOID') y = 1 / (1 + Math.exp((-4 * (x - c)) / w));
  else if (fn === 'LINEAR_EXACT') y = (x - (c - w / 2)) / w;
  else {
    // PS3.3 C.11.2.1.2.1: the classic window with its half-pixel offsets.
    if (x <= c - 0.5 - (w - 1) / 2) return 0;
    if (x > c - 0.5 + (w - 1) / 2) return 255;
    y = w === 1 ? 1 : (x - (c - 0.5)) / (w - 1) + 0.5;
  }
  return Math.round(Math.min(1, Math.max(0, y)) * 255);
}
