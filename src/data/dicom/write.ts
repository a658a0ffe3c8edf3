// Builds DICOM files from pixels: the synthetic phantoms (`data synth --format dicom`) and the test
// fixtures (big endian, retired, is read but not written: those fixtures come from DCMTK). Native
// little-endian syntaxes are written by dcmjs; compressed ones use the encoders of the same codec
// packages that decode them (CharLS, OpenJPEG, libjpeg-turbo) and our RLE encoder. JPEG lossless
// (process 14) has no encoder in JavaScript: such files come from DCMTK's dcmcjpeg in the tests.
import dcmjs from 'dcmjs';

import { codecModule } from './codec-modules.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, writeDicom } from './parse.js';
import { encodeRleFrame } from './rle.js';
import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_LE, IMPLICIT_VR_LE } from './transfer-syntax.js';

const { DicomMetaDictionary } = dcmjs.data;

export const WRITABLE_SYNTAXES = {
  'explicit-le': EXPLICIT_VR_LE,
  'implicit-le': IMPLICIT_VR_LE,
  deflated: DEFLATED_EXPLICIT_VR_LE,
  rle: '1.2.840.10008.1.2.5',
  'jpeg-ls': '1.2.840.10008.1.2.4.80',
  'jpeg-ls-near': '1.2.840.10008.1.2.4.81',
  jpeg2000: '1.2.840.10008.1.2.4.90',
  'jpeg2000-lossy': '1.2.840.10008.1.2.4.91',
  'jpeg-baseline': '1.2.840.10008.1.2.4.50',
} as const;
export type WritableSyntax = keyof typeof WRITABLE_SYNTAXES;

export interface PixelImage {
  width: number;
  height: number;
  /** 8 or 16. */
  bitsAllocated: 8 | 16;
  bitsStored: number;
  signed: boolean;
  samplesPerPixel: 1 | 3;
  /** Stored values, pixel-interleaved (Uint8Array for 8-bit, Uint16Array/Int16Array for 16-bit). */
  pixels: Uint8Array | Uint16Array | Int16Array;
}

/** Writes a Part 10 file: `attributes` (naturalized, e.g. { PatientName, Modality }) + the pixels. */
export async function writeDicomImage(attributes: Record<string, unknown>, image: PixelImage, syntax: WritableSyntax = 'explicit-le'): Promise<Uint8Array> {
  const uid = WRITABLE_SYNTAXES[syntax];
  const raw = new Uint8Array(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength);
  const frame = await encodePixels(syntax, raw, image);
  const dataset: Record<string, unknown> = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
    SOPInstanceUID: DicomMetaDictionary.uid(),
    ...attributes,
    Rows: image.height,
    Columns: image.width,
    BitsAllocated: image.bitsAllocated,
    BitsStored: image.bitsStored,
    HighBit: image.bitsStored - 1,
    PixelRepresentation: image.signed ? 1 : 0,
    SamplesPerPixel: image.samplesPerPixel,
    PixelData: [frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength)],
    _vrMap: { PixelData: image.bitsAllocated === 16 && isNative(syntax) ? 'OW' : 'OB' },
  };
  if (image.samplesPerPixel === 3 && dataset.PlanarConfiguration === undefined) dataset.PlanarConfiguration = 0;
  if (!dataset.PhotometricInterpretation) dataset.PhotometricInterpretation = image.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2';
  if (syntax === 'jpeg-baseline' && image.samplesPerPixel === 3) dataset.PhotometricInterpretation = 'YBR_FULL_422';
  if (!isNative(syntax) || syntax === 'jpeg-baseline')
    dataset.LossyImageCompression = syntax.includes('near') || syntax.includes('lossy') || syntax === 'jpeg-baseline' ? '01' : '00';
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer, // type 1 (PS3.10 7.1)
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: uid,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  return writeDicom(DicomMetaDictionary.denaturalizeDataset(meta), DicomMetaDictionary.denaturalizeDataset(dataset));
}

function isNative(syntax: WritableSyntax): boolean {
  return syntax === 'explicit-le' || syntax === 'implicit-le' || syntax === 'deflated';
}

async function encodePixels(syntax: WritableSyntax, raw: Uint8Array, image: PixelImage): Promise<Uint8Array> {
  const pixels = image.width * image.height;
  const bps = image.bitsAllocated / 8;
  if (isNative(syntax)) return raw;
  if (syntax === 'rle') return encodeRleFrame(raw, pixels, bps, image.samplesPerPixel);
  const info = { width: image.width, height: image.height, bitsPerSample: image.bitsStored, componentCount: image.samplesPerPixel, isSigned: image.signed };
  const mod = await codecModule(syntax.startsWith('jpeg-ls') ? 'charls' : syntax.startsWith('jpeg2000') ? 'openjpeg' : 'libjpeg-turbo-8bit');
  const className = syntax.startsWith('jpeg-ls') ? 'JpegLSEncoder' : syntax.startsWith('jpeg2000') ? 'J2KEncoder' : 'JPEGEncoder';
  const encoder = new mod[className]!();
  try {
    if (syntax === 'jpeg-baseline') info.bitsPerSample = 8;
    encoder.getDecodedBuffer(info).set(raw);
    if (syntax === 'jpeg-ls-near') encoder.setNearLossless?.(2);
    if (syntax === 'jpeg2000-lossy') encoder.setQuality?.(false, 10);
    // OpenJPEG's default of 5 wavelet levels needs ≥ 32 pixels per side at the coarsest level.
    if (syntax.startsWith('jpeg2000'))
      (encoder as unknown as { setDecompositions(n: number): void }).setDecompositions(
        Math.max(0, Math.min(5, Math.floor(Math.log2(Math.min(image.width, image.height))) - 2)),
      );
    if (syntax === 'jpeg-baseline') (encoder.setQuality as unknown as (q: number) => void)(95);
    try {
      encoder.encode();
    } catch (err) {
      throw new Error(`${syntax} encoder failed for ${image.width}×${image.height} (${typeof err === 'number' ? 'codec exception' : String(err)})`, {
        cause: err,
      });
    }
    const out = encoder.getEncodedBuffer().slice();
    return out.length % 2 ? Uint8Array.from([...out, 0]) : out;
  } finally {
    encoder.delete();
  }
}
