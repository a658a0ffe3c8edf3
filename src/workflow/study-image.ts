// What a study stores of the image it was registered with. PNG and JPEG are kept as sent. A DICOM is
// de-identified first (data/dicom/deid) and never stored as received: the study keeps the
// de-identified instance (`instance.dcm`, for PACS export and audit), an 8-bit PNG rendering with the
// DICOM's own window applied (`image.png`: what the viewer shows and the model reads — the same
// pixels preprocessing would make from the DICOM, so the read is the DICOM's read) and the header
// facts a viewer and monitoring need (`dicom.json`: modality, body part, view, spacing, window),
// none of them identifying.
import sharp from 'sharp';

import { ConfigError } from '../core/errors.js';
import { type BurnedInPolicy, deidentify } from '../data/dicom/deid/index.js';
import { type DicomOrigin, readDicomOrigin } from '../data/dicom/deid/origin.js';
import { decodeDicom, type DicomImageInfo } from '../data/dicom/index.js';
import { type DicomFile, parseDicom } from '../data/dicom/parse.js';
import { decodeGrayscale, isDicom } from '../data/images/decode.js';

export interface DicomIntakeSettings {
  /** The site's de-identification key (see data/dicom/deid/key.ts). */
  key: Uint8Array;
  /** BurnedInAnnotation = YES: refuse (default) or allow. A study cannot wait in quarantine. */
  burnedIn?: Exclude<BurnedInPolicy, 'quarantine'>;
  /**
   * Results-return (SECONDREAD_PACS_RETURN=on): keep the identified origin of each instance, sealed
   * with this key, so results can go back into the original study. Off: no link back is kept.
   */
  keepOrigin?: boolean;
}

export interface StudyImage {
  /** The bytes the study shows and the model reads. */
  image: Uint8Array;
  contentType: 'image/png' | 'image/jpeg';
  extension: 'png' | 'jpg';
  /** Other objects stored beside the image, by file name. */
  extras: { name: string; bytes: Uint8Array; contentType: string }[];
  dicom?: StudyDicomFacts;
  /** What the QIDO index keeps of a DICOM study beyond its facts (de-identified values). */
  index?: { seriesInstanceUid: string; studyDate: string | null };
  /** The identified origin (only with keepOrigin): sealed before it is stored, never logged. */
  origin?: DicomOrigin;
}

/** The non-identifying header facts of a DICOM study, stored as dicom.json. */
export interface StudyDicomFacts extends DicomImageInfo {
  studyInstanceUid: string;
  sopInstanceUid: string;
  patientKey: string;
}

export async function prepareStudyImage(bytes: Uint8Array, dicom: DicomIntakeSettings | undefined): Promise<StudyImage> {
  if (!isDicom(bytes)) {
    // A full decode, not just the header: a truncated or corrupt image must not become a clinical
    // record that nobody can display (and whose model read would fail).
    const { header } = await decodeGrayscale(bytes);
    const png = header.format === 'png';
    return { image: bytes, contentType: png ? 'image/png' : 'image/jpeg', extension: png ? 'png' : 'jpg', extras: [] };
  }
  return prepareDicomStudyImage(parseDicom(bytes), dicom);
}

/** A parsed DICOM file to what its study stores (for callers that read its header first). */
export async function prepareDicomStudyImage(file: DicomFile, dicom: DicomIntakeSettings | undefined): Promise<StudyImage> {
  if (!dicom) throw new ConfigError('DICOM intake needs a de-identification key: set SECONDREAD_DEID_KEY (serve makes one in its home otherwise)');
  const decoded = await decodeDicom(file);
  // The PNG is encoded on libuv's thread pool while de-identification runs here: the two overlap on a
  // second core. zlib level 3: as small as the default 6 within a few percent on radiographs, in about
  // two thirds of the time (measured on 2048² CXR renderings).
  const encoding = sharp(decoded.data, { raw: { width: decoded.width, height: decoded.height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 3 })
    .toBuffer();
  encoding.catch(() => undefined); // awaited below; a refusal by deidentify must not leave it unhandled
  const deid = deidentify(file, { key: dicom.key, burnedIn: dicom.burnedIn ?? 'refuse' });
  const png = await encoding;
  const facts: StudyDicomFacts = { ...decoded.info, studyInstanceUid: deid.studyInstanceUid, sopInstanceUid: deid.sopInstanceUid, patientKey: deid.patientKey };
  return {
    image: png,
    contentType: 'image/png',
    extension: 'png',
    extras: [
      { name: 'instance.dcm', bytes: deid.bytes, contentType: 'application/dicom' },
      { name: 'dicom.json', bytes: Buffer.from(JSON.stringify(facts)), contentType: 'application/json' },
    ],
    dicom: facts,
    index: { seriesInstanceUid: deid.seriesInstanceUid, studyDate: deid.studyDate },
    ...(dicom.keepOrigin ? { origin: readDicomOrigin(file) } : {}),
  };
}
