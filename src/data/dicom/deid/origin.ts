// The identified origin of a received instance: what a result needs to go back into the ORIGINAL study
// in the PACS (IHE AI Results: same Study Instance UID, same patient), read from the file BEFORE it is
// de-identified. De-identification is one-way (keyed-hash UID remapping), so this is the only link
// back; it is kept solely as a sealed value (core/seal.ts, workflow/origin-store.ts), never in the clear,
// and only where a site turns results-return on.
import type { DicomFile } from '../parse.js';

export interface DicomOrigin {
  patient: { id: string; name: string; birthDate?: string; sex?: string };
  study: { studyInstanceUid: string; studyDate?: string; studyTime?: string; accessionNumber?: string; studyId?: string; referringPhysicianName?: string };
  series: { seriesInstanceUid: string; modality: string };
  instance: { sopClassUid: string; sopInstanceUid: string };
}

/** The identifying attributes a result SR copies (patient and study modules) and the instance it refers to. */
export function readDicomOrigin(file: DicomFile): DicomOrigin {
  const d = file.dict;
  // Optional attributes are left out when absent or empty, so the SR writer copies only what was there.
  const o = (tag: string, name: string): Record<string, string> => {
    const v = text(d[tag]);
    return v === '' ? {} : { [name]: v };
  };
  return {
    patient: { id: text(d['00100020']), name: text(d['00100010']), ...o('00100030', 'birthDate'), ...o('00100040', 'sex') },
    study: {
      studyInstanceUid: text(d['0020000D']),
      ...o('00080020', 'studyDate'),
      ...o('00080030', 'studyTime'),
      ...o('00080050', 'accessionNumber'),
      ...o('00200010', 'studyId'),
      ...o('00080090', 'referringPhysicianName'),
    },
    series: { seriesInstanceUid: text(d['0020000E']), modality: text(d['00080060']) },
    instance: {
      sopClassUid: text(d['00080016']) || String(file.meta.MediaStorageSOPClassUID ?? ''),
      sopInstanceUid: text(d['00080018']) || String(file.meta.MediaStorageSOPInstanceUID ?? ''),
    },
  };
}

/** An element's first value as text (a person name's alphabetic form), trimmed of DICOM padding. */
function text(element: { Value?: unknown[] } | undefined): string {
  const v = element?.Value?.[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic?: string }).Alphabetic ?? '').trim();
  return String(v).replace(/\0/g, '').trim();
}
