// A C-STORE carries a bare dataset in the transfer syntax the association agreed on; intake takes Part 10
// files. The file meta header (PS3.10 §7.1) is written here around the received bytes, which are kept
// exactly as they came (re-encoding could alter pixel data or private elements), and taken off again for
// sending, where the association decides the encoding.
import { DicomInvalidError } from '../data/dicom/errors.js';

/** Our implementation class (the same as data/dicom/write.ts's: one implementation writes all our files). */
export const IMPLEMENTATION_CLASS_UID = '2.25.302535969541327839017330545146316094373';
const IMPLEMENTATION_VERSION = 'SECONDREAD';

export interface Part10Meta {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The AE title that sent the dataset (Source Application Entity Title). */
  sourceAeTitle?: string;
}

/** Preamble, "DICM", the meta header (explicit VR little endian, with its group length), then `dataset` as it is. */
export function part10FromDataset(dataset: Uint8Array, meta: Part10Meta): Uint8Array {
  const elements = [
    element(0x0001, 'OB', Uint8Array.of(0, 1)),
    element(0x0002, 'UI', uidBytes(meta.sopClassUid)),
    element(0x0003, 'UI', uidBytes(meta.sopInstanceUid)),
    element(0x0010, 'UI', uidBytes(meta.transferSyntaxUid)),
    element(0x0012, 'UI', uidBytes(IMPLEMENTATION_CLASS_UID)),
    element(0x0013, 'SH', textBytes(IMPLEMENTATION_VERSION)),
    ...(meta.sourceAeTitle ? [element(0x0016, 'AE', textBytes(meta.sourceAeTitle))] : []),
  ];
  const groupLength = elements.reduce((n, e) => n + e.length, 0);
  const lengthElement = element(0x0000, 'UL', new Uint8Array(new Uint32Array([groupLength]).buffer));
  const out = new Uint8Array(128 + 4 + lengthElement.length + groupLength + dataset.length);
  out.set([0x44, 0x49, 0x43, 0x4d], 128);
  let at = 132;
  for (const e of [lengthElement, ...elements]) {
    out.set(e, at);
    at += e.length;
  }
  out.set(dataset, at);
  return out;
}

/** Splits a Part 10 file into its transfer syntax and its dataset bytes (what a C-STORE sends). */
export function datasetOfPart10(file: Uint8Array): { transferSyntaxUid: string; sopClassUid: string; sopInstanceUid: string; dataset: Uint8Array } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const isPart10 = file.length >= 144 && String.fromCharCode(...file.subarray(128, 132)) === 'DICM';
  if (!isPart10) throw new DicomInvalidError('not a Part 10 file: no "DICM" marker at byte 128');
  const values: Record<number, string> = {};
  let at = 132;
  // Group 0002 is explicit VR LE; OB/OW/UN/UT/SQ have a 4-byte length after two reserved bytes.
  while (at + 8 <= file.length && view.getUint16(at, true) === 0x0002) {
    const el = view.getUint16(at + 2, true);
    const vr = String.fromCharCode(file[at + 4]!, file[at + 5]!);
    const long = ['OB', 'OW', 'UN', 'UT', 'SQ', 'OF', 'UC', 'UR'].includes(vr);
    const len = long ? view.getUint32(at + 8, true) : view.getUint16(at + 6, true);
    const start = at + (long ? 12 : 8);
    if (start + len > file.length) throw new DicomInvalidError('the file meta header runs past the end of the file');
    if (vr === 'UI')
      values[el] = Buffer.from(file.subarray(start, start + len))
        .toString('latin1')
        .replace(/[\0 ]+$/, '');
    at = start + len;
  }
  const transferSyntaxUid = values[0x0010];
  const sopClassUid = values[0x0002];
  const sopInstanceUid = values[0x0003];
  if (!transferSyntaxUid || !sopClassUid || !sopInstanceUid)
    throw new DicomInvalidError('the file meta header lacks its transfer syntax or SOP class/instance UID');
  return { transferSyntaxUid, sopClassUid, sopInstanceUid, dataset: file.subarray(at) };
}

function element(el: number, vr: string, value: Uint8Array): Uint8Array {
  const long = vr === 'OB';
  const out = new Uint8Array((long ? 12 : 8) + value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0x0002, true);
  view.setUint16(2, el, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, value.length, true);
  else view.setUint16(6, value.length, true);
  out.set(value, long ? 12 : 8);
  return out;
}

/** UIDs are padded to an even length with NUL; text with a space (PS3.5 §6.2). */
function uidBytes(uid: string): Uint8Array {
  return Buffer.from(uid.length % 2 ? `${uid}\0` : uid, 'latin1');
}

function textBytes(s: string): Uint8Array {
  return Buffer.from(s.length % 2 ? `${s} ` : s, 'latin1');
}
