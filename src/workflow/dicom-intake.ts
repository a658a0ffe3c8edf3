// What the workflow takes in from the DICOM network (Contract 3 of issue 17, used by STOW-RS and the
// DIMSE C-STORE SCP alike): which workflow modality a received instance is read as, and the per-instance
// answer — never an exception for bad input, so one bad instance of a batch refuses only itself.
import { SecondreadError } from '../core/errors.js';
import type { Modality } from '../data/classes.js';
import { DicomError } from '../data/dicom/errors.js';
import type { StudyView } from './blinding.js';

/** DICOM Modality (0008,0060) → the workflow's modality. CR/DX: chest radiographs; OPT (and devices' OCT): ophthalmic tomography. */
const WORKFLOW_MODALITY: Record<string, Modality> = { CR: 'cxr', DX: 'cxr', OPT: 'oct', OCT: 'oct' };

export class DicomModalityNotAcceptedError extends DicomError {
  constructor(modality: string) {
    super('dicom_modality_not_accepted', `DICOM modality '${modality}' is not read here: CR and DX (chest X-ray) and OPT (retinal OCT) are`, 422, {
      modality,
      accepted: Object.keys(WORKFLOW_MODALITY),
    });
  }
}

/** STOW-RS to /studies/{uid} with an instance of another study (PS3.18 10.5: not stored). */
export class DicomStudyMismatchError extends DicomError {
  constructor() {
    super('dicom_study_mismatch', 'the instance does not belong to the study the request was sent to', 409);
  }
}

export function workflowModalityOf(dicomModality: unknown): Modality {
  const m = typeof dicomModality === 'string' ? dicomModality.trim().toUpperCase() : '';
  const modality = WORKFLOW_MODALITY[m];
  if (!modality) throw new DicomModalityNotAcceptedError(m.slice(0, 16) || '(none)');
  return modality;
}

export type DicomIntakeResult =
  | {
      ok: true;
      study: StudyView;
      /** The SOP Instance UID as received (the sender's, for its response; never stored). */
      sopInstanceUid: string;
      sopClassUid: string;
      /** The de-identified UIDs the stored instance carries (what QIDO/WADO-RS answer with). */
      stored: { studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUid: string };
      /** True when this instance had been received before: the earlier study is answered, none is made. */
      duplicate: boolean;
    }
  | { ok: false; code: string; reason: string; sopInstanceUid?: string; sopClassUid?: string };

/** A refusal of the input (any 4xx SecondreadError) becomes an answer; server faults stay exceptions. */
export function refusalOf(err: unknown): { code: string; reason: string } | null {
  return err instanceof SecondreadError && err.httpStatus >= 400 && err.httpStatus < 500 ? { code: err.code, reason: err.message } : null;
}
