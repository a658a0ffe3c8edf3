// Our stable DICOM refusal codes (errors.ts, workflow's intake) as DICOM status codes: the Failure Reason
// (0008,1197) of a STOW-RS response (PS3.18 Table I.2-2) and the status of a C-STORE response
// (PS3.4 Table B.2-1) use the same values, so the DICOMweb server and the DIMSE SCP answer alike.

/** PS3.18 I.2-2 / PS3.4 B.2-1 */
export const DICOM_STATUS = {
  /** Refused: out of resources (A7xx) — here: the image is larger than we agree to decode. */
  outOfResources: 0xa700,
  /** Error: Data Set does not match SOP Class (A9xx). */
  dataSetDoesNotMatchSopClass: 0xa900,
  /** Error: cannot understand (Cxxx). */
  cannotUnderstand: 0xc000,
  /** Referenced Transfer Syntax not supported. */
  transferSyntaxNotSupported: 0xc122,
  /** Processing failure. */
  processingFailure: 0x0110,
  /** Referenced SOP Class not supported (also: a modality the workflow does not read). */
  sopClassNotSupported: 0x0122,
  /** Warning: coercion of data elements — de-identification changes every stored instance. */
  coercionOfDataElements: 0xb000,
} as const;

const BY_CODE: Record<string, number> = {
  dicom_unsupported_transfer_syntax: DICOM_STATUS.transferSyntaxNotSupported,
  dicom_not_an_image: DICOM_STATUS.sopClassNotSupported,
  dicom_modality_not_accepted: DICOM_STATUS.sopClassNotSupported,
  dicom_no_pixel_data: DICOM_STATUS.dataSetDoesNotMatchSopClass,
  dicom_study_mismatch: DICOM_STATUS.dataSetDoesNotMatchSopClass,
  dicom_invalid: DICOM_STATUS.cannotUnderstand,
  dicom_truncated: DICOM_STATUS.cannotUnderstand,
  dicom_unsupported_pixels: DICOM_STATUS.cannotUnderstand,
  dicom_pixel_data_corrupt: DICOM_STATUS.cannotUnderstand,
  image_too_large: DICOM_STATUS.outOfResources,
  // A site policy refusal (text may be burned into the pixels): no closer standard value than this.
  dicom_burned_in_annotation: DICOM_STATUS.processingFailure,
};

/** The DICOM failure status for one of our refusal codes (processing failure for any other). */
export function dicomFailureReason(code: string): number {
  return BY_CODE[code] ?? DICOM_STATUS.processingFailure;
}
