// A C-STORE carries a bare dataset in the transfer syntax the association agreed on; intake takes Part 10
// files. The file meta header (PS3.10 §7.1) is written around the received bytes, which are kept exactly as
// they came (re-encoding could alter pixel data or private elements), and taken off again for sending, where
// the association decides the encoding. The meta header itself is data/dicom's (parse.ts): one writer and one
// reader of it for every file secondread handles.
import { DicomInvalidError } from '../data/dicom/errors.js';
import { part10Meta, splitPart10, wrapDataset } from '../data/dicom/parse.js';

export interface Part10Meta {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The AE title that sent the dataset (Source Application Entity Title). */
  sourceAeTitle?: string;
}

/** Preamble, "DICM", the meta header (explicit VR little endian, with its group length), then `dataset` as it is. */
export function part10FromDataset(dataset: Uint8Array, meta: Part10Meta): Uint8Array {
  return wrapDataset(part10Meta(meta), dataset);
}

/** Splits a Part 10 file into its transfer syntax and its dataset bytes (what a C-STORE sends). */
export function datasetOfPart10(file: Uint8Array): { transferSyntaxUid: string; sopClassUid: string; sopInstanceUid: string; dataset: Uint8Array } {
  const { meta, dataset } = splitPart10(file);
  const uid = (v: unknown) => (typeof v === 'string' ? v.replace(/[\0 ]+$/, '') : '');
  const transferSyntaxUid = uid(meta.TransferSyntaxUID);
  const sopClassUid = uid(meta.MediaStorageSOPClassUID);
  const sopInstanceUid = uid(meta.MediaStorageSOPInstanceUID);
  if (!transferSyntaxUid || !sopClassUid || !sopInstanceUid)
    throw new DicomInvalidError('the file meta header lacks its transfer syntax or SOP class/instance UID');
  return { transferSyntaxUid, sopClassUid, sopInstanceUid, dataset };
}
