// DICOM files in a dataset archive: de-identified before anything of them is stored (the same
// PS3.15 profile and site key as study intake, data/dicom/deid). The dataset keeps the de-identified
// instance — its sha256 and name are the de-identified file's, so neither the manifest nor the object
// key carries the original's identity — and, when the source has no patient-id file-name pattern, the
// pseudonymous patient key for the patient-aware split (null when the file names no patient: an empty
// Patient ID would otherwise give every such file the same key and put them all in one split). A DICOM that cannot be de-identified (not
// parseable) or declares burned-in annotation is not stored at all: its quarantine entry is a note.
import { sha256Hex } from '../../core/ids.js';
import { deidentify } from '../dicom/deid/deidentify.js';
import { DicomError } from '../dicom/errors.js';
import { parseDicom } from '../dicom/parse.js';

export interface DatasetDicomSettings {
  /** The site's de-identification key (data/dicom/deid/key.ts). */
  key: Uint8Array;
}

export type DatasetDicom = { kind: 'stored'; bytes: Buffer; sha256: string; fileName: string; patientKey: string | null } | { kind: 'refused'; reason: string };

export function deidentifyForDataset(data: Uint8Array, settings: DatasetDicomSettings): DatasetDicom {
  let out;
  let hasPatient: boolean;
  try {
    const file = parseDicom(data);
    hasPatient = String(file.dataset.PatientID ?? '').trim() !== '';
    out = deidentify(file, { key: settings.key, burnedIn: 'quarantine' });
  } catch (err) {
    if (err instanceof DicomError) return { kind: 'refused', reason: `${err.message} [${err.code}]; the file was not stored (it could not be de-identified)` };
    throw err;
  }
  if (out.quarantine)
    return { kind: 'refused', reason: 'burned-in annotation (0028,0301 = YES): text in the pixels may identify the patient; the file was not stored' };
  const bytes = Buffer.from(out.bytes);
  const sha256 = sha256Hex(bytes);
  return { kind: 'stored', bytes, sha256, fileName: `${sha256.slice(0, 20)}.dcm`, patientKey: hasPatient ? out.patientKey : null };
}
