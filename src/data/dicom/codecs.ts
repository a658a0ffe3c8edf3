// Pixel data decoders by codec, each a well-kept package but RLE (PS3.5 Annex G, rle.ts):
// JPEG baseline/extended 8-bit — libjpeg-turbo (@cornerstonejs/codec-libjpeg-turbo-8bit); 12-bit JPEG
// extended — DCMTK's dcmdjpeg when installed (jpeg12-dcmtk.ts: no maintained JS codec exists);
// JPEG lossless process 14 and 14 SV1 — jpeg-lossless-decoder-js; JPEG-LS — CharLS
// (@cornerstonejs/codec-charls); JPEG 2000 — OpenJPEG (@cornerstonejs/codec-openjpeg).
// The WebAssembly modules are instantiated once, on first use, and shared.
//
// Every decoder returns samples in the native layout: little endian, 1 or 2 bytes per sample,
// pixel-interleaved — so the pixel pipeline reads a decoded frame exactly like an uncompressed one.
import { codecModule } from './codec-modules.js';
import { jpeg2000Header, jpegFamilyHeader } from './codestream.js';
import { DicomImageTooLargeError, DicomPixelDecodeError, DicomUnsupportedTransferSyntaxError } from './errors.js';
import { dcmtkJpeg12Available, decodeJpeg12WithDcmtk } from './jpeg12-dcmtk.js';
import { decodeRleFrame } from './rle.js';
import type { PixelCodec } from './transfer-syntax.js';

export interface FrameGeometry {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  maxPixels: number;
}

export interface DecodedFrame {
  /** Little-endian samples, pixel-interleaved. */
  bytes: Uint8Array;
  bytesPerSample: 1 | 2;
  samplesPerPixel: number;
  /** True when a colour codec already returned RGB (JPEG's YCbCr → RGB happens inside libjpeg). */
  rgb: boolean;
}

export async function decodeFrame(codec: PixelCodec, uid: string, frame: Uint8Array, g: FrameGeometry): Promise<DecodedFrame> {
  const bytesPerSample = g.bitsAllocated > 8 ? 2 : 1;
  const pixels = g.rows * g.columns;
  if (codec === 'rle')
    return { bytes: decodeRleFrame(frame, pixels, bytesPerSample, g.samplesPerPixel), bytesPerSample, samplesPerPixel: g.samplesPerPixel, rgb: false };

  const header = codec === 'jpeg2000' ? jpeg2000Header(frame) : jpegFamilyHeader(frame);
  if (!header) throw new DicomPixelDecodeError(uid, 'the compressed frame has no readable codestream header');
  if (header.width * header.height > g.maxPixels) throw new DicomImageTooLargeError(header.width, header.height, g.maxPixels);
  if (header.width !== g.columns || header.height !== g.rows)
    throw new DicomPixelDecodeError(uid, `the codestream is ${header.width}×${header.height}, the DICOM header says ${g.columns}×${g.rows}`);

  if (codec === 'jpeg-lossless') return decodeJpegLossless(uid, frame, g, header.precision);
  if (codec === 'jpeg-baseline' && header.precision > 8) {
    if (!dcmtkJpeg12Available())
      throw new DicomUnsupportedTransferSyntaxError(
        uid,
        `${header.precision}-bit JPEG extended is decoded through DCMTK's dcmdjpeg, which is not installed here (apt-get install dcmtk); or send it lossless`,
      );
    const bytes = await decodeJpeg12WithDcmtk(uid, frame, {
      rows: g.rows,
      columns: g.columns,
      samplesPerPixel: g.samplesPerPixel,
      precision: header.precision,
    });
    return { bytes, bytesPerSample: 2, samplesPerPixel: g.samplesPerPixel, rgb: false };
  }

  const name = codec === 'jpeg-ls' ? 'charls' : codec === 'jpeg2000' ? 'openjpeg' : 'libjpeg-turbo-8bit';
  const className = codec === 'jpeg-ls' ? 'JpegLSDecoder' : codec === 'jpeg2000' ? 'J2KDecoder' : 'JPEGDecoder';
  const mod = await codecModule(name);
  let decoder: CornerstoneDecoder;
  try {
    decoder = new mod[className]!();
  } catch (err) {
    throw new DicomPixelDecodeError(uid, `the codec could not start: ${String(err).slice(0, 100)}`);
  }
  try {
    decoder.getEncodedBuffer(frame.length).set(frame);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.width !== g.columns || info.height !== g.rows)
      throw new DicomPixelDecodeError(uid, `decoded ${info.width}×${info.height}, expected ${g.columns}×${g.rows}`);
    const out = decoder.getDecodedBuffer();
    const outBytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
    const expected = pixels * info.componentCount * outBytesPerSample;
    if (out.length < expected) throw new DicomPixelDecodeError(uid, `the codec returned ${out.length} bytes, ${expected} expected`);
    return { bytes: out.slice(0, expected), bytesPerSample: outBytesPerSample, samplesPerPixel: info.componentCount, rgb: info.componentCount === 3 };
  } catch (err) {
    if (err instanceof DicomPixelDecodeError) throw err;
    // Emscripten codecs throw a bare number (a C++ exception pointer) or an Error.
    throw new DicomPixelDecodeError(
      uid,
      typeof err === 'number' ? 'the codec rejected the compressed data' : String((err as Error).message ?? err).slice(0, 200),
    );
  } finally {
    // After a codec exception the C++ object may be half torn down; its delete() can throw again.
    try {
      decoder.delete();
    } catch {
      /* nothing left to free that we could reach */
    }
  }
}

async function decodeJpegLossless(uid: string, frame: Uint8Array, g: FrameGeometry, precision: number): Promise<DecodedFrame> {
  const { Decoder } = await import('jpeg-lossless-decoder-js');
  let out: ArrayBuffer | Uint8Array | Uint16Array;
  try {
    // The decoder reads through a view of (buffer, offset, length) and never writes to it: no copy of
    // the frame (3.5 MB for a 2048² CXR). Its output is a fresh array, handed on as a view, not copied.
    const buffer = frame.buffer instanceof ArrayBuffer ? frame.buffer : frame.slice().buffer;
    const offset = buffer === frame.buffer ? frame.byteOffset : 0;
    out = new Decoder().decode(buffer, offset, frame.byteLength);
  } catch (err) {
    throw new DicomPixelDecodeError(uid, String((err as Error)?.message ?? err).slice(0, 200));
  }
  const bytes = out instanceof ArrayBuffer ? new Uint8Array(out) : new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  const bytesPerSample = precision > 8 ? 2 : 1;
  const expected = g.rows * g.columns * g.samplesPerPixel * bytesPerSample;
  if (bytes.length < expected) throw new DicomPixelDecodeError(uid, `the JPEG lossless decoder returned ${bytes.length} bytes, ${expected} expected`);
  return { bytes: bytes.length === expected ? bytes : bytes.subarray(0, expected), bytesPerSample, samplesPerPixel: g.samplesPerPixel, rgb: false };
}
