// `data synth --format dicom`: a rendered phantom as the DICOM a modality would send, so the whole
// DICOM path (decoding, de-identification, intake, the ETL) is exercised here without real data.
// CXR: Computed Radiography, 12 bits stored in 16, MONOCHROME2 or (every other image) MONOCHROME1 with
// the pixel values inverted, a window that reproduces the rendered grey levels, pixel spacing, PA/AP
// view, body part CHEST. OCT: Ophthalmic Tomography (OPT), 8-bit. Transfer syntaxes rotate over the
// images. Every PS3.15 Basic Profile attribute carries a plausible fake value (names, IDs, dates,
// institution, device serials, UIDs) — all invented from the seed, so de-identification has
// something to remove.
import dcmjs from 'dcmjs';

import { profileAttributes } from '../dicom/deid/profile.js';
import { type PixelImage, type WritableSyntax, writeDicomImage } from '../dicom/write.js';
import type { GrayImage } from './types.js';

const { DicomMetaDictionary } = dcmjs.data;

const CXR_SYNTAXES: WritableSyntax[] = ['explicit-le', 'rle', 'jpeg-ls', 'implicit-le', 'jpeg2000', 'deflated'];
const OCT_SYNTAXES: WritableSyntax[] = ['explicit-le', 'rle', 'jpeg-baseline', 'jpeg-ls'];
const GIVEN = ['Anna', 'Jonas', 'Mira', 'Lukas', 'Sofia', 'Noah', 'Lea', 'Elias'];
const FAMILY = ['Berger', 'Novak', 'Lindqvist', 'Moreau', 'Rossi', 'Keller', 'Dubois', 'Hansen'];

export interface DicomPhantomInput {
  modality: 'cxr' | 'oct';
  /** Index of the image in its archive: picks the syntax and the photometric interpretation. */
  index: number;
  /** The phantom's own seed: the fake patient and its UIDs derive from it. */
  seed: number;
  /** The patient id the layout gave the image (OCT), else one is made from the seed. */
  patientId?: string;
}

export async function encodeDicomPhantom(image: GrayImage, o: DicomPhantomInput): Promise<Buffer> {
  const cxr = o.modality === 'cxr';
  const syntaxes = cxr ? CXR_SYNTAXES : OCT_SYNTAXES;
  const syntax = syntaxes[o.index % syntaxes.length]!;
  const monochrome1 = cxr && o.index % 2 === 1;
  let pixels: PixelImage;
  if (cxr) {
    // 12 bits stored: v·16 + 8, inverted for MONOCHROME1; window 2048/4096 maps it back to v.
    const data = new Uint16Array(image.data.length);
    for (let i = 0; i < data.length; i++) {
      const v = image.data[i]! * 16 + 8;
      data[i] = monochrome1 ? 4095 - v : v;
    }
    pixels = { width: image.width, height: image.height, bitsAllocated: 16, bitsStored: 12, signed: false, samplesPerPixel: 1, pixels: data };
  } else {
    pixels = { width: image.width, height: image.height, bitsAllocated: 8, bitsStored: 8, signed: false, samplesPerPixel: 1, pixels: image.data };
  }
  const attributes: Record<string, unknown> = cxr
    ? {
        SOPClassUID: '1.2.840.10008.5.1.4.1.1.1',
        Modality: 'CR',
        BodyPartExamined: 'CHEST',
        ViewPosition: o.index % 5 === 4 ? 'AP' : 'PA',
        PixelSpacing: [0.139, 0.139],
        PhotometricInterpretation: monochrome1 ? 'MONOCHROME1' : 'MONOCHROME2',
        WindowCenter: 2048,
        WindowWidth: 4096,
      }
    : { SOPClassUID: '1.2.840.10008.5.1.4.1.1.77.1.5.4', Modality: 'OPT', PhotometricInterpretation: 'MONOCHROME2', PixelSpacing: [0.0039, 0.0116] };
  const bytes = await writeDicomImage({ ...attributes, ...fakeIdentity(o) }, pixels, syntax);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Plausible fake values for every Basic Profile attribute a modality would fill (naturalized). */
function fakeIdentity(o: DicomPhantomInput): Record<string, unknown> {
  const s = o.seed >>> 0;
  const name = `${FAMILY[s % FAMILY.length]}^${GIVEN[(s >>> 3) % GIVEN.length]}`;
  const day = String(1 + (s % 28)).padStart(2, '0');
  const uid = (n: number) => `2.25.${(BigInt(s) * 1000003n + BigInt(n)).toString()}${o.index}`;
  const out: Record<string, unknown> = {};
  for (const { tag, keyword, vr } of profileAttributes()) {
    if (!DicomMetaDictionary.nameMap[keyword]) continue;
    if (vr === 'PN') out[keyword] = `${FAMILY[(s + keyword.length) % FAMILY.length]}^${GIVEN[keyword.length % GIVEN.length]}`;
    else if (vr === 'DA') out[keyword] = `2024${String(1 + (s % 12)).padStart(2, '0')}${day}`;
    else if (vr === 'TM') out[keyword] = '101500';
    else if (vr === 'DT') out[keyword] = `2024010${1 + (s % 9)}101500`;
    else if (vr === 'UI') out[keyword] = uid(parseInt(tag.slice(4), 16));
    else if (vr === 'AS') out[keyword] = `0${40 + (s % 40)}Y`;
    else if (vr === 'DS') out[keyword] = String(60 + (s % 40));
    else if (vr === 'CS') out[keyword] = keyword === 'PatientSex' ? (s % 2 ? 'F' : 'M') : 'FAKE';
    else if (['LO', 'SH', 'LT', 'ST', 'UT', 'UC', 'AE'].includes(vr)) out[keyword] = `FAKE ${keyword.slice(0, 12)} ${s % 1000}`;
  }
  return {
    ...out,
    PatientName: name,
    PatientID: o.patientId ?? `MRN${(s % 900000) + 100000}`,
    PatientBirthDate: `19${50 + (s % 45)}0${1 + (s % 9)}${day}`,
    InstitutionName: 'Synthetic General Hospital',
    DeviceSerialNumber: `SN-${s % 100000}`,
    StudyInstanceUID: uid(1),
    SeriesInstanceUID: uid(2),
    SOPInstanceUID: uid(3),
  };
}
