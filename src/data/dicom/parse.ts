// THE DICOM parser: every module that reads a DICOM file (decoding, de-identification, intake, the
// ETL) starts here, so "what counts as a DICOM file" is decided once.
//
// dcmjs does the element parsing; this module decides what dcmjs is given:
// - Part 10 files (128-byte preamble, "DICM", a group-0002 meta header): the meta header is read
//   here (explicit VR LE, bounds-checked) to learn the transfer syntax before the dataset is parsed.
// - Datasets without preamble/meta header, as many modalities and older PACS send them: the
//   encoding is guessed from the first element (a valid explicit VR after the tag → explicit VR LE,
//   otherwise implicit VR LE, the default syntax of PS3.5 §10.1).
// - Deflated datasets are inflated here with a hard output limit (a deflate bomb is refused before
//   it is allocated), then parsed as explicit VR LE.
// Any failure becomes a typed DicomError with a stable code; dcmjs' own exceptions never escape.
import { deflateRawSync, inflateRawSync } from 'node:zlib';

import dcmjs from 'dcmjs';

import { firstLineOf } from '../../core/errors.js';
import { DicomInvalidError, DicomTruncatedError, DicomUnsupportedTransferSyntaxError } from './errors.js';
import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE, refusalReason, transferSyntax } from './transfer-syntax.js';

const { DicomDict, DicomMessage, DicomMetaDictionary, ReadBufferStream } = dcmjs.data;
silenceDcmjs();

/** A dcmjs dataset in its tag-keyed form ({ '00100010': { vr, Value } }). */
export type DicomTagDict = Record<string, { vr: string; Value?: unknown[]; InlineBinary?: string }>;
/** A dcmjs naturalized dataset ({ PatientName: …, Rows: … }). */
export type NaturalDataset = Record<string, unknown>;

export interface DicomFile {
  /** The transfer syntax the dataset (and its pixel data) is encoded in. */
  transferSyntaxUid: string;
  /** True for a Part 10 file; false for a bare dataset (its meta header was made up here). */
  hasPreamble: boolean;
  /** Meta header, naturalized (TransferSyntaxUID, MediaStorageSOPClassUID…). */
  meta: NaturalDataset;
  /** The dataset, naturalized: what decoding reads. */
  dataset: NaturalDataset;
  /** The dataset, tag-keyed as dcmjs read it: what de-identification edits and writes back. */
  dict: DicomTagDict;
}

/** Inflated deflated datasets larger than this are refused (the largest real CXR is ~60 MB). */
export const MAX_INFLATED_BYTES = 512 * 1024 * 1024;

const DICM_OFFSET = 128;
const VALID_VRS = new Set([
  'AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV',
]); // prettier-ignore

/** True when the bytes carry the Part 10 "DICM" marker. */
function hasPart10Marker(bytes: Uint8Array): boolean {
  return bytes.length >= DICM_OFFSET + 4 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * True when the bytes look like a DICOM file: a Part 10 marker, or a bare dataset whose first
 * element is a plausible low group (0002/0008) tag, as devices send them without a preamble.
 */
export function looksLikeDicom(bytes: Uint8Array): boolean {
  if (hasPart10Marker(bytes)) return true;
  if (bytes.length < 8) return false;
  if (bareBigEndian(bytes)) return true;
  const group = bytes[0]! | (bytes[1]! << 8);
  const element = bytes[2]! | (bytes[3]! << 8);
  if (group !== 0x0002 && group !== 0x0008) return false;
  if (element > 0x0100) return false;
  return VALID_VRS.has(String.fromCharCode(bytes[4]!, bytes[5]!)) || (bytes[6] === 0 && bytes[7] === 0) || element === 0;
}

/** A bare explicit VR big-endian dataset (retired, still sent by old equipment): group 0008 tag, big-endian, then a VR. */
function bareBigEndian(bytes: Uint8Array): boolean {
  return bytes[0] === 0x00 && bytes[1] === 0x08 && bytes[2] === 0x00 && bytes[3]! <= 0x20 && VALID_VRS.has(String.fromCharCode(bytes[4]!, bytes[5]!));
}

/** Parses a DICOM file (Part 10 or a bare dataset). Throws DicomError subclasses only. */
export function parseDicom(bytes: Uint8Array): DicomFile {
  if (!looksLikeDicom(bytes)) throw new DicomInvalidError('not a DICOM file: no "DICM" marker at byte 128 and no DICOM dataset at the start');
  const part10 = hasPart10Marker(bytes);
  const { meta, datasetStart } = part10 ? readMetaHeader(bytes) : { meta: {} as DicomTagDict, datasetStart: 0 };
  let uid = part10 ? metaTransferSyntax(meta) : guessBareEncoding(bytes);
  if (!part10) meta['00020010'] = { vr: 'UI', Value: [uid] };
  const syntax = transferSyntax(uid);
  if (!syntax) throw new DicomUnsupportedTransferSyntaxError(uid, refusalReason(uid));

  let body = bytes.subarray(datasetStart);
  if (syntax.encoding === 'deflated-explicit-le') {
    body = inflateBounded(body);
    uid = DEFLATED_EXPLICIT_VR_LE;
  }
  const encoding = actualEncoding(body, syntax.encoding);
  checkPixelDataLength(body, encoding);
  body = firstCharacterSetOnly(body, encoding);
  const readSyntax = encoding === 'implicit-le' ? IMPLICIT_VR_LE : encoding === 'explicit-be' ? EXPLICIT_VR_BE : EXPLICIT_VR_LE;
  const dict = guard('dataset', () => DicomMessage._read(streamOf(body), readSyntax, { ignoreErrors: false }) as DicomTagDict);
  const dataset = guard('dataset', () => DicomMetaDictionary.naturalizeDataset(dict) as NaturalDataset);
  const metaNatural = guard('meta header', () => DicomMetaDictionary.naturalizeDataset(meta) as NaturalDataset);
  return { transferSyntaxUid: uid, hasPreamble: part10, meta: metaNatural, dataset, dict };
}

/** Writes a parsed (possibly edited) file back as Part 10 bytes, in its own transfer syntax. */
export function writeDicom(meta: DicomTagDict, dict: DicomTagDict, o: { allowInvalidVRLength?: boolean } = {}): Uint8Array {
  const options = { fragmentMultiframe: false, allowInvalidVRLength: o.allowInvalidVRLength ?? false };
  const deflated = meta['00020010']?.Value?.[0] === DEFLATED_EXPLICIT_VR_LE;
  if (!deflated) return writeWithPixelData(meta, dict, options);
  // dcmjs does not deflate: write the dataset as explicit VR LE, then deflate everything after the
  // meta header (PS3.5 A.5) under a meta header that names the deflated syntax.
  const body = writeWithPixelData({ ...meta, '00020010': { vr: 'UI', Value: [EXPLICIT_VR_LE] } }, dict, options);
  // The dataset starts after the preamble, "DICM", the group length element (12 bytes) and the group.
  const datasetStart = DICM_OFFSET + 4 + 12 + new DataView(body.buffer, body.byteOffset).getUint32(DICM_OFFSET + 4 + 8, true);
  return wrapDataset(meta, deflateRawSync(body.subarray(datasetStart)));
}

/**
 * dcmjs copies a large Pixel Data element through its growing write buffer several times (~60 ms for an
 * 8 MB radiograph, most of a de-identification). When Pixel Data is the dataset's last element and the
 * syntax little endian, everything before it is written by dcmjs and the element is appended here, byte
 * for byte what dcmjs would write (native: tag, VR, length, value; encapsulated: an empty Basic Offset
 * Table, one item per buffer, the sequence delimiter — `fragmentMultiframe: false`). Anything else goes
 * through dcmjs whole.
 */
function writeWithPixelData(meta: DicomTagDict, dict: DicomTagDict, options: Record<string, unknown>): Uint8Array {
  const whole = () => {
    const out = new DicomDict(meta);
    out.dict = dict;
    return new Uint8Array(out.write(options));
  };
  const uid = meta['00020010']?.Value?.[0];
  const pixel = dict['7FE00010'];
  const buffers = pixel?.Value;
  const last = Object.keys(dict).reduce((a, b) => (b.toUpperCase() > a ? b.toUpperCase() : a), '');
  const implicit = uid === IMPLICIT_VR_LE;
  const native = implicit || uid === EXPLICIT_VR_LE;
  if (
    typeof uid !== 'string' ||
    uid === EXPLICIT_VR_BE ||
    !pixel ||
    last !== '7FE00010' ||
    !Array.isArray(buffers) ||
    buffers.length === 0 ||
    !buffers.every((b) => b instanceof ArrayBuffer) ||
    (native && buffers.length !== 1) ||
    (pixel.vr !== 'OB' && pixel.vr !== 'OW')
  )
    return whole();
  const { '7FE00010': _pixel, ...rest } = dict;
  const head = new DicomDict(meta);
  head.dict = rest;
  const before = new Uint8Array(head.write(options));
  const parts: Uint8Array[] = [before];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const tag = Buffer.from([0xe0, 0x7f, 0x10, 0x00]);
  const vrHeader = (vr: string) => Buffer.concat([Buffer.from(vr, 'latin1'), Buffer.alloc(2)]);
  const padded = (b: ArrayBuffer) => (b.byteLength % 2 ? Buffer.concat([Buffer.from(b), Buffer.alloc(1)]) : new Uint8Array(b));
  if (native) {
    const value = padded(buffers[0] as ArrayBuffer);
    parts.push(tag, ...(implicit ? [] : [vrHeader(pixel.vr)]), u32(value.length), value);
  } else {
    const values = (buffers as ArrayBuffer[]).map(padded);
    const offsets: Buffer[] = [];
    let offset = 0;
    for (const v of values) {
      offsets.push(u32(offset));
      offset += 8 + v.length;
    }
    parts.push(tag, vrHeader(pixel.vr), u32(0xffffffff), Buffer.from([0xfe, 0xff, 0x00, 0xe0]), u32(4 * values.length), ...offsets);
    for (const value of values) parts.push(Buffer.from([0xfe, 0xff, 0x00, 0xe0]), u32(value.length), value);
    parts.push(Buffer.from([0xfe, 0xff, 0xdd, 0xe0]), u32(0));
  }
  return Buffer.concat(parts);
}

/** Our implementation (PS3.7 D.3.3.2 Implementation Class UID): every file secondread writes says so. */
export const IMPLEMENTATION_CLASS_UID = '2.25.302535969541327839017330545146316094373';
export const IMPLEMENTATION_VERSION_NAME = 'SECONDREAD';

/** The file meta header (PS3.10 7.1) of an instance secondread writes, tag-keyed for writeDicom/wrapDataset. */
export function part10Meta(o: { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string; sourceAeTitle?: string }): DicomTagDict {
  return {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [o.sopClassUid] },
    '00020003': { vr: 'UI', Value: [o.sopInstanceUid] },
    '00020010': { vr: 'UI', Value: [o.transferSyntaxUid] },
    '00020012': { vr: 'UI', Value: [IMPLEMENTATION_CLASS_UID] },
    '00020013': { vr: 'SH', Value: [IMPLEMENTATION_VERSION_NAME] },
    ...(o.sourceAeTitle ? { '00020016': { vr: 'AE', Value: [o.sourceAeTitle] } } : {}),
  };
}

/** Preamble, "DICM", the meta header, then `dataset` byte for byte as it is (already encoded in the meta's syntax). */
export function wrapDataset(meta: DicomTagDict, dataset: Uint8Array): Uint8Array {
  const head = new DicomDict(meta);
  head.dict = {};
  const metaOnly = new Uint8Array(head.write({ fragmentMultiframe: false }));
  const out = new Uint8Array(metaOnly.length + dataset.length);
  out.set(metaOnly);
  out.set(dataset, metaOnly.length);
  return out;
}

/** A Part 10 file's meta header (naturalized) and its dataset bytes, untouched. Throws DicomError subclasses only. */
export function splitPart10(bytes: Uint8Array): { meta: NaturalDataset; dataset: Uint8Array } {
  if (!hasPart10Marker(bytes)) throw new DicomInvalidError('not a Part 10 file: no "DICM" marker at byte 128');
  const { meta, datasetStart } = readMetaHeader(bytes);
  return { meta: guard('meta header', () => DicomMetaDictionary.naturalizeDataset(meta) as NaturalDataset), dataset: bytes.subarray(datasetStart) };
}

/** The meta header in dcmjs' tag-keyed form, for writing. */
export function metaDict(file: DicomFile): DicomTagDict {
  return DicomMetaDictionary.denaturalizeDataset(file.meta) as DicomTagDict;
}

function readMetaHeader(bytes: Uint8Array): { meta: DicomTagDict; datasetStart: number } {
  // Group 0002 is always explicit VR LE. Walk its elements with bounds checks (the group length
  // element is optional in practice, so it is not trusted to find the end).
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = DICM_OFFSET + 4;
  while (at + 8 <= bytes.length && view.getUint16(at, true) === 0x0002) {
    const vr = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!);
    if (!VALID_VRS.has(vr)) throw new DicomInvalidError(`meta header element at byte ${at} has no valid VR`);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV', 'SV', 'UV'].includes(vr);
    const length = long ? (at + 12 <= bytes.length ? view.getUint32(at + 8, true) : -1) : view.getUint16(at + 6, true);
    const next = at + (long ? 12 : 8) + length;
    if (length < 0 || next > bytes.length) throw new DicomTruncatedError('the file ends inside its meta header');
    at = next;
  }
  const metaBytes = bytes.subarray(DICM_OFFSET + 4, at);
  const meta = guard('meta header', () => DicomMessage._read(streamOf(metaBytes), EXPLICIT_VR_LE, { ignoreErrors: false }) as DicomTagDict);
  return { meta, datasetStart: at };
}

/**
 * dcmjs zero-fills a Pixel Data element whose declared length runs past the end of the file; a cut
 * transfer must be refused instead, so the last Pixel Data header is checked against the bytes.
 */
function checkPixelDataLength(body: Uint8Array, encoding: string): void {
  const be = encoding === 'explicit-be';
  const tag = be ? [0x7f, 0xe0, 0x00, 0x10] : [0xe0, 0x7f, 0x10, 0x00];
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const at = buf.lastIndexOf(Buffer.from(tag));
  if (at < 0 || at + 8 > body.length) return;
  const explicit = encoding !== 'implicit-le' && VALID_VRS.has(String.fromCharCode(body[at + 4]!, body[at + 5]!));
  if (explicit && at + 12 > body.length) throw new DicomTruncatedError('the file ends inside the Pixel Data header');
  const length = explicit ? (be ? buf.readUInt32BE(at + 8) : buf.readUInt32LE(at + 8)) : buf.readUInt32LE(at + 4);
  const start = at + (explicit ? 12 : 8);
  if (length === 0xffffffff) {
    // Encapsulated: fragments end with a sequence delimitation item (FFFE,E0DD); a cut file has none.
    if (buf.indexOf(Buffer.from(be ? [0xff, 0xfe, 0xe0, 0xdd] : [0xfe, 0xff, 0xdd, 0xe0]), start) < 0)
      throw new DicomTruncatedError('the encapsulated Pixel Data has no sequence delimiter: the file was cut');
    return;
  }
  if (start + length > body.length)
    throw new DicomTruncatedError(`the Pixel Data declares ${length} bytes, the file holds ${body.length - start}`, {
      declared: length,
      present: body.length - start,
    });
}

/** dcmjs logs odd VRs and padding on the console (two loggers): quirks reach users through our errors. */
function silenceDcmjs(): void {
  dcmjs.log.setLevel('silent');
  dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');
}

function metaTransferSyntax(meta: DicomTagDict): string {
  const value = meta['00020010']?.Value?.[0];
  if (typeof value !== 'string' || value.trim() === '') throw new DicomInvalidError('the meta header has no Transfer Syntax UID (0002,0010)');
  return value.replace(/\0/g, '').trim();
}

/**
 * Some writers declare an explicit VR syntax in the meta header and then write the dataset implicit VR
 * (old toolkits, some JPEG transcoders). When the first element of an "explicit" little-endian dataset
 * carries no valid VR, it is read as implicit VR LE — what pydicom does; the pixel codec still follows
 * the declared syntax.
 */
function actualEncoding(body: Uint8Array, declared: string): string {
  if (declared !== 'explicit-le' && declared !== 'deflated-explicit-le') return declared;
  if (body.length < 8 || VALID_VRS.has(String.fromCharCode(body[4]!, body[5]!))) return declared;
  return 'implicit-le';
}

/**
 * dcmjs refuses a Specific Character Set (0008,0005) with several values (ISO 2022 code extensions, as
 * Japanese, Korean and Chinese sites write: `ISO 2022 IR 13\ISO 2022 IR 87`). Such a file is still an
 * image: the value is cut to its first term, in a copy, so the dataset reads with that one set. Only text
 * in the other sets (names, descriptions) reads garbled; de-identification removes the identifying ones
 * and no pixel depends on text.
 */
function firstCharacterSetOnly(body: Uint8Array, encoding: string): Uint8Array {
  if (encoding === 'explicit-be') return body;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const explicit = encoding !== 'implicit-le';
  // Group 0008 opens the dataset; (0008,0005) follows at most (0008,0000) and (0008,0001), so three
  // elements are enough to find it.
  let at = 0;
  for (let i = 0; i < 3 && at + 8 <= body.length; i++) {
    const group = view.getUint16(at, true);
    const element = view.getUint16(at + 2, true);
    if (group !== 0x0008 || element > 0x0005) return body;
    const length = explicit ? view.getUint16(at + 6, true) : view.getUint32(at + 4, true);
    const valueStart = at + 8;
    if (valueStart + length > body.length) return body;
    if (element === 0x0005) {
      const value = Buffer.from(body.buffer, body.byteOffset + valueStart, length).toString('latin1');
      const cut = value.indexOf('\\');
      if (cut < 0) return body;
      const copy = Uint8Array.from(body);
      copy.set(Buffer.from(value.slice(0, cut).padEnd(length, ' '), 'latin1'), valueStart);
      return copy;
    }
    at = valueStart + length;
  }
  return body;
}

function guessBareEncoding(bytes: Uint8Array): string {
  if (bareBigEndian(bytes)) return EXPLICIT_VR_BE;
  const vr = String.fromCharCode(bytes[4]!, bytes[5]!);
  return VALID_VRS.has(vr) ? EXPLICIT_VR_LE : IMPLICIT_VR_LE;
}

function inflateBounded(body: Uint8Array): Uint8Array {
  try {
    return inflateRawSync(body, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || /maxOutputLength|buffer/i.test(String(err)))
      throw new DicomInvalidError(`the deflated dataset inflates to more than ${MAX_INFLATED_BYTES} bytes`);
    if (code === 'Z_BUF_ERROR') throw new DicomTruncatedError('the deflated dataset ends early');
    throw new DicomInvalidError(`the deflated dataset cannot be inflated: ${firstLineOf(err, 200)}`);
  }
}

function streamOf(bytes: Uint8Array): InstanceType<typeof ReadBufferStream> {
  // dcmjs wants an ArrayBuffer of exactly these bytes.
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return new ReadBufferStream(copy, true);
}

/** Runs a dcmjs step, mapping its exceptions (RangeError past the end, bad VRs…) to DicomErrors. */
function guard<T>(what: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof DicomInvalidError || err instanceof DicomTruncatedError) throw err;
    const message = firstLineOf(err, 200);
    if (err instanceof RangeError || /outside the bounds|out of range|beyond|end of (the )?buffer|offset/i.test(message))
      throw new DicomTruncatedError(`the ${what} ends early or declares a length past the end of the file`, { reason: message });
    throw new DicomInvalidError(`the ${what} cannot be parsed: ${message}`);
  }
}
