// A DICOM file to 8-bit grey pixels plus the metadata a study keeps: parse (parse.ts) → refuse what
// is not a single image we can read, before allocating → first frame's samples (codecs.ts for
// compressed syntaxes) → the pixel pipeline (pixels.ts).
//
// Multi-frame images: the first frame is read (an OCT volume's first B-scan, a CR's only frame) and
// `frames` reports how many there were, so a caller can refuse volumes where it wants to.
import { MAX_IMAGE_PIXELS } from '../images/limits.js';
import { type DecodedFrame, decodeFrame } from './codecs.js';
import {
  DicomImageTooLargeError,
  DicomInvalidError,
  DicomNoPixelDataError,
  DicomNotAnImageError,
  DicomTruncatedError,
  DicomUnsupportedPixelsError,
} from './errors.js';
import { type DicomFile, type NaturalDataset, parseDicom } from './parse.js';
import { type AppliedWindow, type PixelAttributes, type StoredValues, storedValues, toGrey8 } from './pixels.js';
import { nonImageKind } from './sop-classes.js';
import { transferSyntax } from './transfer-syntax.js';

/** What a study keeps of the DICOM header: no identifying attribute is among these. */
export interface DicomImageInfo {
  sopClassUid: string;
  transferSyntaxUid: string;
  modality: string | null;
  bodyPartExamined: string | null;
  viewPosition: string | null;
  /** Row spacing, column spacing in mm (PixelSpacing, else ImagerPixelSpacing), or null. */
  pixelSpacingMm: [number, number] | null;
  photometric: string;
  bitsStored: number;
  rows: number;
  columns: number;
  frames: number;
  /** The VOI the 8-bit pixels were made with: the viewer's default window/level. */
  window: AppliedWindow;
  burnedInAnnotation: boolean;
}

export interface DecodedDicom {
  width: number;
  height: number;
  /** 8-bit grey, row-major, 0 = black. */
  data: Uint8Array;
  /** Stored values of the first frame (before rescale and VOI): what peers' decoders are compared on. */
  stored: StoredValues;
  info: DicomImageInfo;
}

export interface DecodeDicomOptions {
  maxPixels?: number;
}

/** Header checks only (no pixel decode): the dimensions and metadata, or the DicomError a full decode would give first. */
export function inspectDicom(
  input: Uint8Array | DicomFile,
  o: DecodeDicomOptions = {},
): { file: DicomFile; attrs: PixelAttributes; info: Omit<DicomImageInfo, 'window'> } {
  const file = input instanceof Uint8Array ? parseDicom(input) : input;
  const ds = file.dataset;
  const sopClassUid = str(ds.SOPClassUID) ?? str(file.meta.MediaStorageSOPClassUID) ?? '';
  const kind = nonImageKind(sopClassUid);
  if (kind) throw new DicomNotAnImageError(sopClassUid, kind);
  if (ds.PixelData === undefined && ds.FloatPixelData === undefined && ds.DoubleFloatPixelData === undefined)
    throw new DicomNoPixelDataError(sopClassUid || undefined);
  if (ds.PixelData === undefined) throw new DicomUnsupportedPixelsError('floating-point pixel data is not supported');

  const rows = num(ds.Rows);
  const columns = num(ds.Columns);
  if (!rows || !columns || rows < 1 || columns < 1) throw new DicomInvalidError('the image has no Rows/Columns');
  const maxPixels = Math.min(o.maxPixels ?? MAX_IMAGE_PIXELS, MAX_IMAGE_PIXELS);
  if (rows * columns > maxPixels) throw new DicomImageTooLargeError(columns, rows, maxPixels);
  const bitsAllocated = num(ds.BitsAllocated) ?? 0;
  if (bitsAllocated !== 8 && bitsAllocated !== 16)
    throw new DicomUnsupportedPixelsError(`BitsAllocated ${bitsAllocated} is not supported (8 or 16)`, { bitsAllocated });
  const bitsStored = num(ds.BitsStored) ?? bitsAllocated;
  const highBit = num(ds.HighBit) ?? bitsStored - 1;
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated)
    throw new DicomInvalidError(`inconsistent BitsStored ${bitsStored} / HighBit ${highBit} for BitsAllocated ${bitsAllocated}`);
  const photometric = (str(ds.PhotometricInterpretation) ?? 'MONOCHROME2').toUpperCase();
  const samples = num(ds.SamplesPerPixel) ?? 1;
  if (!['MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT'].includes(photometric))
    throw new DicomUnsupportedPixelsError(`photometric interpretation ${photometric} is not supported`, { photometric });
  if ((photometric.startsWith('MONO') && samples !== 1) || (!photometric.startsWith('MONO') && samples !== 3))
    throw new DicomInvalidError(`${photometric} with ${samples} samples per pixel`);

  const attrs: PixelAttributes = {
    rows,
    columns,
    bitsStored,
    highBit,
    signed: num(ds.PixelRepresentation) === 1,
    photometric,
    planarConfiguration: num(ds.PlanarConfiguration) ?? 0,
    rescaleSlope: num(ds.RescaleSlope) ?? 1,
    rescaleIntercept: num(ds.RescaleIntercept) ?? 0,
    window: windowOf(ds),
    voiLut: voiLutOf(ds),
  };
  if (!Number.isFinite(attrs.rescaleSlope) || attrs.rescaleSlope === 0) attrs.rescaleSlope = 1;
  const spacing = nums(ds.PixelSpacing) ?? nums(ds.ImagerPixelSpacing);
  const info = {
    sopClassUid,
    transferSyntaxUid: file.transferSyntaxUid,
    modality: str(ds.Modality) ?? null,
    bodyPartExamined: str(ds.BodyPartExamined) ?? null,
    viewPosition: str(ds.ViewPosition) ?? null,
    pixelSpacingMm: spacing && spacing.length >= 2 ? ([spacing[0]!, spacing[1]!] as [number, number]) : null,
    photometric,
    bitsStored,
    rows,
    columns,
    frames: Math.max(1, num(ds.NumberOfFrames) ?? 1),
    burnedInAnnotation: (str(ds.BurnedInAnnotation) ?? '').toUpperCase() === 'YES',
  };
  return { file, attrs, info };
}

/** Decodes the first frame of a DICOM image to 8-bit grey. Throws DicomError subclasses only. */
export async function decodeDicom(input: Uint8Array | DicomFile, o: DecodeDicomOptions = {}): Promise<DecodedDicom> {
  const { file, attrs, info } = inspectDicom(input, o);
  const syntax = transferSyntax(file.transferSyntaxUid)!;
  const ds = file.dataset;
  const bitsAllocated = num(ds.BitsAllocated)!;
  const samples = info.photometric.startsWith('MONO') ? 1 : 3;
  const fragments = frameBuffers(ds.PixelData);
  let frame: DecodedFrame;
  if (syntax.codec === 'native') {
    // Native YBR_FULL_422 stores two chroma samples per two pixels (PS3.3 C.7.6.3.1.2): not a layout
    // the pipeline reads; say so instead of calling the file short.
    if (info.photometric === 'YBR_FULL_422')
      throw new DicomUnsupportedPixelsError('uncompressed YBR_FULL_422 (chroma-subsampled) pixel data is not supported; send it as RGB or compressed', {
        photometric: info.photometric,
      });
    const bytesPerSample = bitsAllocated / 8;
    const need = attrs.rows * attrs.columns * samples * bytesPerSample;
    const all = fragments[0] ?? new Uint8Array(0);
    if (all.length < need) throw new DicomTruncatedError(`the pixel data holds ${all.length} bytes, the first frame needs ${need}`);
    // Big endian (retired, still sent by old equipment): dcmjs hands OW over as stored, so 16-bit samples are
    // swapped here into the little-endian layout the pixel pipeline reads.
    const bytes = syntax.encoding === 'explicit-be' && bytesPerSample === 2 ? swap16(all.subarray(0, need)) : all.subarray(0, need);
    frame = { bytes, bytesPerSample: bytesPerSample as 1 | 2, samplesPerPixel: samples, rgb: false };
  } else {
    if (fragments.length === 0 || fragments[0]!.length === 0) throw new DicomTruncatedError('the encapsulated pixel data has no fragment');
    // dcmjs returns one buffer per frame; a single-frame image split over several fragments
    // arrives as several buffers that belong together.
    const first = info.frames === 1 && fragments.length > 1 ? concat(fragments) : fragments[0]!;
    frame = await decodeFrame(syntax.codec, syntax.uid, first, {
      rows: attrs.rows,
      columns: attrs.columns,
      samplesPerPixel: samples,
      bitsAllocated,
      maxPixels: attrs.rows * attrs.columns,
    });
    if (frame.samplesPerPixel !== samples)
      throw new DicomInvalidError(`the codec returned ${frame.samplesPerPixel} samples per pixel, the header says ${samples}`);
  }
  const stored = storedValues(frame, attrs, syntax.codec === 'native');
  const { data, window } = toGrey8(stored, attrs);
  return { width: attrs.columns, height: attrs.rows, data, stored, info: { ...info, window } };
}

function frameBuffers(pixelData: unknown): Uint8Array[] {
  const list = Array.isArray(pixelData) ? pixelData : [pixelData];
  return list
    .filter((b): b is ArrayBuffer | Uint8Array => b instanceof ArrayBuffer || ArrayBuffer.isView(b))
    .map((b) => (b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
}

function swap16(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  Buffer.from(out.buffer, out.byteOffset, out.byteLength).swap16();
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function windowOf(ds: NaturalDataset): PixelAttributes['window'] {
  const center = nums(ds.WindowCenter)?.[0];
  const width = nums(ds.WindowWidth)?.[0];
  if (center === undefined || width === undefined || !Number.isFinite(center) || !Number.isFinite(width) || width < 1) return undefined;
  const fnName = (str(ds.VOILUTFunction) ?? 'LINEAR').toUpperCase();
  const fn = fnName === 'SIGMOID' || fnName === 'LINEAR_EXACT' ? fnName : 'LINEAR';
  return { center, width, fn };
}

function voiLutOf(ds: NaturalDataset): PixelAttributes['voiLut'] {
  const seq = ds.VOILUTSequence;
  const item = (Array.isArray(seq) ? seq[0] : seq) as NaturalDataset | undefined;
  if (!item) return undefined;
  const desc = nums(item.LUTDescriptor);
  const raw = item.LUTData;
  if (!desc || desc.length < 3) return undefined;
  let data: ArrayLike<number> | undefined;
  if (Array.isArray(raw) && typeof raw[0] === 'number') data = raw as number[];
  else {
    const buf = frameBuffers(raw)[0];
    if (buf) data = desc[2]! > 8 ? new Uint16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + (buf.byteLength & ~1))) : buf;
  }
  if (!data || data.length === 0) return undefined;
  return { first: desc[1]!, bits: Math.min(16, Math.max(1, desc[2]!)), data };
}

function str(v: unknown): string | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' && x.trim() !== '' ? x.trim() : undefined;
}

function num(v: unknown): number | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  const n = typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function nums(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split('\\') : [v];
  const out = list.map((x) => (typeof x === 'number' ? x : Number(x)));
  return out.length && out.every(Number.isFinite) ? out : undefined;
}
