// Reads the frame size (and sample precision) from a compressed frame's own header — JPEG SOF,
// JPEG-LS SOF55, JPEG 2000 SIZ — without decoding it. The decoder compares it with the DICOM
// header before a codec allocates anything: a codestream that claims 60 000² pixels inside a file
// whose header says 512² is refused, not decoded.

export interface CodestreamHeader {
  width: number;
  height: number;
  /** Bits per sample as the codestream declares them. */
  precision: number;
  components: number;
}

export function jpegFamilyHeader(frame: Uint8Array): CodestreamHeader | null {
  if (frame.length < 4 || frame[0] !== 0xff || frame[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 <= frame.length) {
    if (frame[at] !== 0xff) return null;
    const marker = frame[at + 1]!;
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    const length = (frame[at + 2]! << 8) | frame[at + 3]!;
    // SOF0…SOF15 (not DHT C4, JPG C8, DAC CC) and JPEG-LS SOF55 (F7) carry the frame size.
    const isSof = (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7;
    if (isSof) {
      if (at + 10 > frame.length) return null;
      return {
        precision: frame[at + 4]!,
        height: (frame[at + 5]! << 8) | frame[at + 6]!,
        width: (frame[at + 7]! << 8) | frame[at + 8]!,
        components: frame[at + 9]!,
      };
    }
    if (marker === 0xda || marker === 0xd9) return null;
    at += 2 + length;
  }
  return null;
}

export function jpeg2000Header(frame: Uint8Array): CodestreamHeader | null {
  // A raw codestream starts with SOC (FF4F) then SIZ (FF51); a JP2 file wraps it in boxes, so search.
  let at = -1;
  for (let i = 0; i + 1 < Math.min(frame.length, 4096); i++) {
    if (frame[i] === 0xff && frame[i + 1] === 0x4f && frame[i + 2] === 0xff && frame[i + 3] === 0x51) {
      at = i + 2;
      break;
    }
  }
  if (at < 0 || at + 42 > frame.length) return null;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const xsiz = view.getUint32(at + 6);
  const ysiz = view.getUint32(at + 10);
  const xosiz = view.getUint32(at + 14);
  const yosiz = view.getUint32(at + 18);
  const components = view.getUint16(at + 38);
  const ssiz = frame[at + 40]!;
  return { width: xsiz - xosiz, height: ysiz - yosiz, precision: (ssiz & 0x7f) + 1, components };
}
