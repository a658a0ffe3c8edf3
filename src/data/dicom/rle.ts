// DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits-coded
// segment per byte plane (most significant byte first, one set per sample). Small enough to write
// here; both directions are needed (decoding received files, encoding the synthetic phantoms).
import { DicomPixelDecodeError } from './errors.js';

const RLE_UID = '1.2.840.10008.1.2.5';

/**
 * Decodes one RLE frame to pixel-interleaved little-endian samples (the native layout with
 * PlanarConfiguration 0): `bytesPerSample` 1 or 2, `samples` 1 or 3.
 */
export function decodeRleFrame(frame: Uint8Array, pixels: number, bytesPerSample: number, samples: number): Uint8Array {
  if (frame.length < 64) throw new DicomPixelDecodeError(RLE_UID, 'the RLE header is shorter than 64 bytes');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  const expected = bytesPerSample * samples;
  if (segments !== expected) throw new DicomPixelDecodeError(RLE_UID, `the RLE header declares ${segments} segments, ${expected} expected`);
  const out = new Uint8Array(pixels * expected);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : frame.length;
    if (start < 64 || end > frame.length || start > end) throw new DicomPixelDecodeError(RLE_UID, `RLE segment ${s + 1} lies outside the frame`);
    const sample = Math.floor(s / bytesPerSample);
    // Segment order is most significant byte first; the output is little endian.
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample);
    unpackBits(frame.subarray(start, end), out, sample * bytesPerSample + byteInSample, expected, pixels);
  }
  return out;
}

function unpackBits(src: Uint8Array, out: Uint8Array, first: number, stride: number, pixels: number): void {
  let i = 0;
  let n = 0;
  while (i < src.length && n < pixels) {
    const header = src[i++]!;
    if (header < 128) {
      const count = Math.min(header + 1, pixels - n, src.length - i);
      for (let k = 0; k < count; k++) out[first + stride * n++] = src[i++]!;
    } else if (header > 128) {
      if (i >= src.length) break;
      const value = src[i++]!;
      const count = Math.min(257 - header, pixels - n);
      for (let k = 0; k < count; k++) out[first + stride * n++] = value;
    } // 128: no operation
  }
  if (n < pixels) throw new DicomPixelDecodeError(RLE_UID, `an RLE segment holds ${n} of ${pixels} pixels`);
}

/** Encodes pixel-interleaved little-endian samples as one RLE frame (the inverse of decodeRleFrame). */
export function encodeRleFrame(data: Uint8Array, pixels: number, bytesPerSample: number, samples: number): Uint8Array {
  const stride = bytesPerSample * samples;
  const segments: Uint8Array[] = [];
  for (let sample = 0; sample < samples; sample++) {
    for (let b = bytesPerSample - 1; b >= 0; b--) {
      const plane = new Uint8Array(pixels);
      for (let p = 0; p < pixels; p++) plane[p] = data[p * stride + sample * bytesPerSample + b]!;
      segments.push(packBits(plane));
    }
  }
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((seg, s) => {
    view.setUint32(4 + 4 * s, offset, true);
    offset += seg.length;
  });
  const out = new Uint8Array(offset + (offset % 2));
  out.set(header);
  let at = 64;
  for (const seg of segments) {
    out.set(seg, at);
    at += seg.length;
  }
  return out;
}

function packBits(plane: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < plane.length) {
    let run = 1;
    while (i + run < plane.length && run < 128 && plane[i + run] === plane[i]) run++;
    if (run >= 2) {
      out.push(257 - run, plane[i]!);
      i += run;
      continue;
    }
    let lit = 1;
    while (i + lit < plane.length && lit < 128 && !(i + lit + 1 < plane.length && plane[i + lit] === plane[i + lit + 1])) lit++;
    out.push(lit - 1);
    for (let k = 0; k < lit; k++) out.push(plane[i + k]!);
    i += lit;
  }
  // Segments are padded to an even length (PS3.5 G.3.1); 128 is the no-op byte.
  if (out.length % 2) out.push(128);
  return Uint8Array.from(out);
}
