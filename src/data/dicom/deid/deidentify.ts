// De-identification on ingest (PS3.15 Annex E, Basic Application Level Confidentiality Profile):
// what every DICOM that enters secondread goes through before a byte of it is stored or logged.
//
// - profile.ts's table: remove (X), empty (Z), dummy (D) or remap (U) each listed attribute;
// - every private tag, every remaining person name, overlays and curves are removed;
// - every UID outside the DICOM root is remapped to 2.25.<HMAC-SHA256(key, uid)> — the same study
//   gets the same new UID every time (so series and instances stay joined), and without the key the
//   mapping can be neither reversed nor recomputed;
// - PatientID becomes a pseudonymous patient key (keyed hash of issuer + ID): studies of one patient
//   share it, which is what patient-aware dataset splits need, and it names nobody;
// - PatientIdentityRemoved = YES, DeidentificationMethod and its code sequence (DCM 113100) are set;
// - BurnedInAnnotation = YES: text may be in the pixels themselves, which no header edit removes —
//   refused, quarantined or let through as the caller's policy says.
// The pixel data and its transfer syntax are kept (a deflated file is written back as explicit VR
// little endian). The result lists what was done by attribute keyword, never by value.
import { createHmac } from 'node:crypto';

import { DicomError } from '../errors.js';
import { type DicomFile, type DicomTagDict, part10Meta, writeDicom } from '../parse.js';
import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_LE } from '../transfer-syntax.js';
import { BASIC_PROFILE } from './profile.js';

export type BurnedInPolicy = 'refuse' | 'quarantine' | 'allow';

export interface DeidOptions {
  /** The site's secret (≥ 16 bytes): keys the UID remapping and the patient pseudonym. */
  key: Uint8Array;
  burnedIn?: BurnedInPolicy;
}

export interface DeidentifiedDicom {
  /** The de-identified Part 10 file. */
  bytes: Uint8Array;
  /** Keyed hash of the patient's issuer + ID (hex, 24 digits): the same patient, the same key. */
  patientKey: string;
  /** The remapped Study / Series / SOP Instance UIDs (what the stored instance carries). */
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  /** StudyDate as the de-identified instance carries it (null: the profile emptied it). */
  studyDate: string | null;
  /** True when BurnedInAnnotation = YES and the policy is 'quarantine': keep it out of datasets. */
  quarantine: boolean;
  /** What was done, by keyword and action (no values): for the audit trail. */
  actions: string[];
}

export class DicomBurnedInAnnotationError extends DicomError {
  constructor() {
    super(
      'dicom_burned_in_annotation',
      'the image declares burned-in annotation (0028,0301 = YES): text in the pixels may identify the patient, so it is not accepted',
      422,
    );
  }
}

export const DEID_METHOD = 'secondread: PS3.15 Annex E Basic Application Level Confidentiality Profile; UIDs remapped by keyed hash; private tags removed';
const DICOM_ROOT = '1.2.840.10008.';

export function deidentify(file: DicomFile, o: DeidOptions): DeidentifiedDicom {
  if (o.key.length < 16) throw new Error('the de-identification key must be at least 16 bytes');
  const burnedIn = String(first(file.dict['00280301']) ?? '').toUpperCase() === 'YES';
  const policy = o.burnedIn ?? 'refuse';
  if (burnedIn && policy === 'refuse') throw new DicomBurnedInAnnotationError();

  const issuer = String(first(file.dict['00100021']) ?? '');
  const patientId = String(first(file.dict['00100020']) ?? '');
  const patientKey = hmacHex(o.key, `patient\0${issuer}\0${patientId}`).slice(0, 24);
  const counts = new Map<string, number>();
  const note = (keyword: string, action: string) => counts.set(`${keyword}:${action}`, (counts.get(`${keyword}:${action}`) ?? 0) + 1);
  const dict = clean(file.dict, o.key, note);

  dict['00100020'] = { vr: 'LO', Value: [patientKey] };
  dict['00100010'] = { vr: 'PN', Value: [{ Alphabetic: 'ANONYMIZED' }] };
  dict['00120062'] = { vr: 'CS', Value: ['YES'] };
  dict['00120063'] = { vr: 'LO', Value: [DEID_METHOD] };
  dict['00120064'] = {
    vr: 'SQ',
    Value: [
      {
        '00080100': { vr: 'SH', Value: ['113100'] },
        '00080102': { vr: 'SH', Value: ['DCM'] },
        '00080104': { vr: 'LO', Value: ['Basic Application Confidentiality Profile'] },
      },
    ],
  };

  const sopInstanceUid = String(first(dict['00080018']) ?? remapUid(o.key, 'missing-sop-instance'));
  const studyInstanceUid = String(first(dict['0020000D']) ?? remapUid(o.key, 'missing-study'));
  const seriesInstanceUid = String(first(dict['0020000E']) ?? remapUid(o.key, `missing-series\0${studyInstanceUid}`));
  const studyDate = String(first(dict['00080020']) ?? '').trim();
  const meta = deidentifiedMeta(file, sopInstanceUid);
  return {
    bytes: writeDicom(meta, dict),
    patientKey,
    studyInstanceUid,
    seriesInstanceUid,
    sopInstanceUid,
    studyDate: studyDate === '' ? null : studyDate,
    quarantine: burnedIn && policy === 'quarantine',
    actions: [...counts].map(([k, n]) => (n > 1 ? `${k}×${n}` : k)).sort(),
  };
}

/** 2.25.<decimal of the first 128 bits of HMAC-SHA256(key, uid)> (PS3.5 B.2: a UUID-derived UID). */
export function remapUid(key: Uint8Array, uid: string): string {
  return `2.25.${BigInt(`0x${hmacHex(key, `uid\0${uid}`).slice(0, 32)}`).toString()}`;
}

function clean(dict: DicomTagDict, key: Uint8Array, note: (keyword: string, action: string) => void): DicomTagDict {
  const out: DicomTagDict = {};
  for (const [tag, element] of Object.entries(dict)) {
    const upper = tag.toUpperCase();
    const group = parseInt(upper.slice(0, 4), 16);
    if (group % 2 === 1) {
      note('private', 'X');
      continue;
    }
    if ((group >= 0x5000 && group <= 0x50ff) || (group >= 0x6000 && group <= 0x60ff)) {
      note(group >= 0x6000 ? 'overlay' : 'curve', 'X');
      continue;
    }
    const rule = BASIC_PROFILE[upper];
    if (rule) {
      const [keyword, action] = rule;
      note(keyword, action);
      if (action === 'X') continue;
      if (action === 'Z' || action === 'D') {
        out[tag] = { vr: element.vr, Value: [] };
        continue;
      }
      out[tag] = { ...element, Value: (element.Value ?? []).map((v) => (typeof v === 'string' && v !== '' ? remapUid(key, v.trim()) : v)) };
      continue;
    }
    if (element.vr === 'PN') {
      note('person name', 'X');
      continue;
    }
    if (element.vr === 'UI') {
      const values = (element.Value ?? []).map((v) => (typeof v === 'string' && v !== '' && !v.startsWith(DICOM_ROOT) ? remapUid(key, v.trim()) : v));
      out[tag] = { ...element, Value: values };
      continue;
    }
    if (element.vr === 'SQ') {
      out[tag] = { ...element, Value: (element.Value ?? []).map((item) => clean(item as DicomTagDict, key, note)) };
      continue;
    }
    out[tag] = element;
  }
  return out;
}

function deidentifiedMeta(file: DicomFile, sopInstanceUid: string): DicomTagDict {
  const syntax = file.transferSyntaxUid === DEFLATED_EXPLICIT_VR_LE ? EXPLICIT_VR_LE : file.transferSyntaxUid;
  const sopClassUid = String(file.dataset.SOPClassUID ?? file.meta.MediaStorageSOPClassUID ?? '');
  return part10Meta({ sopClassUid, sopInstanceUid, transferSyntaxUid: syntax });
}

function first(element: { Value?: unknown[] } | undefined): unknown {
  const v = element?.Value?.[0];
  if (v && typeof v === 'object' && 'Alphabetic' in v) return (v as { Alphabetic: string }).Alphabetic;
  return v;
}

function hmacHex(key: Uint8Array, message: string): string {
  return createHmac('sha256', key).update(message).digest('hex');
}
