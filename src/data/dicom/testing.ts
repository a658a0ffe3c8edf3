// Test helpers: small DICOM images in every syntax we write, and a file whose every identifying
// attribute (the PS3.15 Basic Profile's, private tags, names inside sequences) carries a marker.
import { profileAttributes } from './deid/profile.js';
import { metaDict, parseDicom, writeDicom } from './parse.js';
import { type PixelImage, type WritableSyntax, writeDicomImage } from './write.js';

/** A 16-bit ramp image (values 0…4095, 12 bits stored), width×height. */
export function ramp16(width = 64, height = 48, o: { signed?: boolean } = {}): PixelImage {
  const pixels = o.signed ? new Int16Array(width * height) : new Uint16Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = o.signed ? ((i * 37) % 4096) - 2048 : (i * 37) % 4096;
  return { width, height, bitsAllocated: 16, bitsStored: 12, signed: !!o.signed, samplesPerPixel: 1, pixels };
}

/** A smooth 8-bit image (what lossy JPEG keeps well). */
export function smooth8(width = 64, height = 48): PixelImage {
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels[y * width + x] = 40 + 2 * x + y;
  return { width, height, bitsAllocated: 8, bitsStored: 8, signed: false, samplesPerPixel: 1, pixels };
}

export const CXR_ATTRIBUTES = {
  SOPClassUID: '1.2.840.10008.5.1.4.1.1.1',
  Modality: 'CR',
  BodyPartExamined: 'CHEST',
  ViewPosition: 'PA',
  PixelSpacing: [0.139, 0.139],
};

export function cxrDicom(image: PixelImage = ramp16(), syntax: WritableSyntax = 'explicit-le', extra: Record<string, unknown> = {}): Promise<Uint8Array> {
  return writeDicomImage({ ...CXR_ATTRIBUTES, WindowCenter: 2048, WindowWidth: 4096, ...extra }, image, syntax);
}

/**
 * A CXR whose every Basic Profile attribute, a private tag and a person name inside a sequence hold
 * `marker` (UIDs hold a UID made from its digits): whatever de-identification leaves is visible.
 */
export async function phiDicom(marker = 'PHIMARKER', syntax: WritableSyntax = 'explicit-le', image: PixelImage = ramp16()): Promise<Uint8Array> {
  const uid = `1.2.826.0.1.3680043.10.${[...marker].map((c) => c.charCodeAt(0)).join('')}`;
  const extra: Record<string, { vr: string; Value: unknown[] }> = {};
  for (const { tag, vr } of profileAttributes()) {
    if (vr === 'SQ')
      extra[tag] = { vr, Value: [{ '00100010': { vr: 'PN', Value: [{ Alphabetic: `${marker}^Seq` }] }, '00081030': { vr: 'LO', Value: [marker] } }] };
    else if (vr === 'UI') extra[tag] = { vr, Value: [`${uid}.${parseInt(tag.slice(4), 16)}`] };
    else if (vr === 'PN') extra[tag] = { vr, Value: [{ Alphabetic: `${marker}^Name` }] };
    else if (['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'SH', 'ST', 'TM', 'UC', 'UT', 'UR'].includes(vr)) extra[tag] = { vr, Value: [marker] };
    else if (vr === 'OB' || vr === 'UN') extra[tag] = { vr, Value: [new TextEncoder().encode(marker.padEnd(marker.length + (marker.length % 2))).buffer] };
  }
  extra['00090010'] = { vr: 'LO', Value: ['ACME PRIVATE'] };
  extra['00091001'] = { vr: 'LO', Value: [marker] };
  const deepName = { '00100010': { vr: 'PN', Value: [{ Alphabetic: `${marker}^Deep` }] } };
  const inner = { '00080104': { vr: 'LO', Value: ['chest'] }, '00401101': { vr: 'SQ', Value: [deepName] } };
  extra['00321064'] = { vr: 'SQ', Value: [inner] };
  const bytes = await cxrDicom(image, syntax, {
    PatientName: `${marker}^Patient`,
    PatientID: `${marker}-ID`,
    StudyInstanceUID: `${uid}.1`,
    SeriesInstanceUID: `${uid}.2`,
    SOPInstanceUID: `${uid}.3`,
  });
  // Re-read, add the tag-keyed attributes (dcmjs naturalizing would drop unknown private tags), write back.
  const file = parseDicom(bytes);
  // Markers are longer than a DA or TM allows: the writer is told to keep them anyway.
  return writeDicom(metaDict(file), { ...file.dict, ...extra }, { allowInvalidVRLength: true });
}

/** Every way `marker` could appear in bytes: ASCII, UTF-16LE, split by a DICOM name separator. */
export function containsMarker(haystack: Uint8Array, marker: string): boolean {
  const b = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength);
  return b.includes(Buffer.from(marker, 'latin1')) || b.includes(Buffer.from(marker, 'utf16le')) || b.includes(Buffer.from(marker.toLowerCase(), 'latin1'));
}

/** A smooth chest-like field (two darker lungs in a brighter body) with film grain: compresses like a CXR. */
export function chestLike(n: number): PixelImage {
  const pixels = new Uint16Array(n * n);
  let seed = 12345;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 16) / 65536 - 0.5;
  };
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++) {
      const u = x / n - 0.5;
      const v = y / n - 0.5;
      const body = Math.exp(-(u * u * 3 + v * v * 2)) * 2600;
      const lung = (cx: number) => Math.exp(-(((u - cx) / 0.16) ** 2 + ((v + 0.02) / 0.28) ** 2)) * 1500;
      pixels[y * n + x] = Math.max(0, Math.min(4095, Math.round(800 + body - lung(-0.2) - lung(0.2) + noise() * 60)));
    }
  return { width: n, height: n, bitsAllocated: 16, bitsStored: 12, signed: false, samplesPerPixel: 1, pixels };
}
