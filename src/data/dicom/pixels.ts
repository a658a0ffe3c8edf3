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

/** Stored values: integers for grey images, luminance (fractional) for colour ones. */
export type StoredValues = Int32Array | Float64Array;

/** Stored values of one grey frame (or luminance of a colour frame), before any LUT. */
export function storedValues(frame: DecodedFrame, a: PixelAttributes, native: boolean): StoredValues {
  const pixels = a.rows * a.columns;
  const spp = frame.samplesPerPixel;
  const bytes = frame.bytes;
  if (spp === 1) {
    const out = new Int32Array(pixels);
    const bits = a.bitsStored;
    const shift = native ? Math.max(0, a.highBit + 1 - bits) : 0;
    const mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
    const sign = 1 << (bits - 1);
    const wrap = 1 << bits;
    // Samples are little endian (codecs.ts and dcmjs both hand them over that way); a 16-bit view
    // over the same memory reads them without a per-byte loop on little-endian hosts.
    const samples: ArrayLike<number> =
      frame.bytesPerSample === 1
        ? bytes
        : bytes.byteOffset % 2 === 0
          ? new Uint16Array(bytes.buffer, bytes.byteOffset, pixels)
          : new Uint16Array(bytes.slice(0, 2 * pixels).buffer);
    if (shift === 0 && !a.signed) for (let p = 0; p < pixels; p++) out[p] = samples[p]! & mask;
    else
      for (let p = 0; p < pixels; p++) {
        const v = (samples[p]! >>> shift) & mask;
        out[p] = a.signed && v & sign ? v - wrap : v;
      }
    return out;
  }
  if (spp !== 3) throw new DicomUnsupportedPixelsError(`${spp} samples per pixel are not supported (1 or 3)`, { samplesPerPixel: spp });
  const out = new Float64Array(pixels);
  const sample = (index: number): number => (frame.bytesPerSample === 1 ? bytes[index]! : bytes[2 * index]! | (bytes[2 * index + 1]! << 8));
  const planar = native && a.planarConfiguration === 1;
  const at = (p: number, c: number) => sample(planar ? c * pixels + p : p * 3 + c);
  const ybr = !frame.rgb && a.photometric.startsWith('YBR');
  for (let p = 0; p < pixels; p++) out[p] = ybr ? at(p, 0) : 0.299 * at(p, 0) + 0.587 * at(p, 1) + 0.114 * at(p, 2);
  return out;
}

/**
 * Applies modality rescale, VOI and MONOCHROME1 inversion: 8-bit grey, 0 = black. Integer stored
 * values (every grey image) go through a lookup table over their min…max, as DCMTK does: one table
 * entry per distinct value instead of the arithmetic per pixel.
 */
export function toGrey8(stored: StoredValues, a: PixelAttributes): { data: Uint8Array; window: AppliedWindow } {
  const n = stored.length;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = stored[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const integers = stored instanceof Int32Array;
  if (n === 0) lo = hi = 0;
  const map = presentation(a, lo * a.rescaleSlope + a.rescaleIntercept, hi * a.rescaleSlope + a.rescaleIntercept);
  const out = new Uint8Array(n);
  if (integers && hi - lo < 1 << 20) {
    const lut = new Uint8Array(hi - lo + 1);
    for (let v = lo; v <= hi; v++) lut[v - lo] = map.grey(v * a.rescaleSlope + a.rescaleIntercept);
    for (let i = 0; i < n; i++) out[i] = lut[stored[i]! - lo]!;
  } else for (let i = 0; i < n; i++) out[i] = map.grey(stored[i]! * a.rescaleSlope + a.rescaleIntercept);
  return { data: out, window: map.window };
}

/** The VOI and polarity of one image as a function from a modality value to a grey level. */
function presentation(a: PixelAttributes, modalityMin: number, modalityMax: number): { grey: (x: number) => number; window: AppliedWindow } {
  const invert = a.photometric === 'MONOCHROME1';
  const polarity = (g: number) => (invert ? 255 - g : g);
  if (a.window && a.window.width >= 1) {
    const { center: c, width: w, fn } = a.window;
    return { grey: (x) => polarity(applyWindow(x, c, w, fn)), window: { source: 'window', center: c, width: w } };
  }
  if (a.voiLut && a.voiLut.data.length > 0) {
    const { first, bits, data } = a.voiLut;
    const max = 2 ** bits - 1;
    return {
      grey: (x) => polarity(Math.round((data[Math.min(data.length - 1, Math.max(0, Math.round(x) - first))]! / max) * 255)),
      window: { source: 'voi-lut', center: first + data.length / 2, width: data.length },
    };
  }
  const lo = Math.min(modalityMin, modalityMax);
  const width = Math.max(1, Math.abs(modalityMax - modalityMin));
  return {
    grey: (x) => polarity(Math.max(0, Math.min(255, Math.round(((x - lo) / width) * 255)))),
    window: { source: 'min-max', center: lo + width / 2, width },
  };
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
