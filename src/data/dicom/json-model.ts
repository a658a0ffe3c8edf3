// The DICOM JSON Model (PS3.18 Annex F): what QIDO-RS, WADO-RS metadata and the STOW-RS response speak.
// Keys are the eight upper-case hex digits of the tag; each attribute is { vr, Value? | InlineBinary? |
// BulkDataURI? }; numbers are JSON numbers (DS and IS too, F.2.3), person names are objects with an
// Alphabetic component, sequences hold datasets, AT values are tag strings. An empty value has no
// `Value` key at all (F.2.5).
import type { DicomTagDict } from './parse.js';

export interface DicomJsonAttribute {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}
export type DicomJsonDataset = Record<string, DicomJsonAttribute>;

const NUMBER_VRS = new Set(['DS', 'IS', 'FL', 'FD', 'SL', 'SS', 'UL', 'US', 'SV', 'UV']);
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const TAG = /^[0-9A-F]{8}$/;

/** One attribute for a dataset we build (absent or empty values → no `Value`). */
export function attr(vr: string, ...values: unknown[]): DicomJsonAttribute {
  const v = values.filter((x) => x !== undefined);
  return v.length === 0 ? { vr } : { vr, Value: v };
}

export interface ToDicomJsonOptions {
  /** Binary values up to this many bytes are inlined (base64); longer ones are left out (default 1024). */
  maxInlineBinary?: number;
  /** Tags (upper-case hex) to leave out, e.g. Pixel Data. */
  omit?: ReadonlySet<string>;
}

/** A dcmjs tag-keyed dataset as a DICOM JSON Model object, tags in ascending order. */
export function toDicomJson(dict: DicomTagDict, o: ToDicomJsonOptions = {}): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  const maxInline = o.maxInlineBinary ?? 1024;
  for (const tag of Object.keys(dict).sort((a, b) => a.toUpperCase().localeCompare(b.toUpperCase()))) {
    const key = tag.toUpperCase();
    if (!TAG.test(key) || o.omit?.has(key)) continue;
    const el = dict[tag]!;
    const vr = el.vr ?? 'UN';
    if (BINARY_VRS.has(vr)) {
      const bytes = binaryOf(el.Value, el.InlineBinary);
      if (bytes === null || bytes.length === 0) out[key] = { vr };
      else if (bytes.length <= maxInline) out[key] = { vr, InlineBinary: Buffer.from(bytes).toString('base64') };
      continue; // too large to inline and no bulk data endpoint: left out (docs/api.md, DICOMweb)
    }
    const values = (el.Value ?? []).map((v) => valueOf(vr, v, o));
    out[key] = values.length === 0 || values.every((v) => v === null || v === '') ? { vr } : { vr, Value: values };
  }
  return out;
}

function valueOf(vr: string, v: unknown, o: ToDicomJsonOptions): unknown {
  if (v === null || v === undefined) return null;
  if (vr === 'SQ') return toDicomJson(v as DicomTagDict, o);
  if (vr === 'PN') {
    if (typeof v === 'object') {
      const pn = v as Record<string, unknown>;
      const out: Record<string, string> = {};
      for (const k of ['Alphabetic', 'Ideographic', 'Phonetic']) if (typeof pn[k] === 'string' && pn[k] !== '') out[k] = pn[k] as string;
      return Object.keys(out).length ? out : null;
    }
    return String(v) === '' ? null : { Alphabetic: String(v) };
  }
  if (NUMBER_VRS.has(vr)) {
    if (typeof v === 'bigint') return Number(v);
    const n = typeof v === 'number' ? v : Number(String(v).trim());
    return String(v).trim() === '' || !Number.isFinite(n) ? null : n;
  }
  if (vr === 'AT') return typeof v === 'number' ? v.toString(16).toUpperCase().padStart(8, '0') : String(v).toUpperCase();
  return typeof v === 'string' ? v.replace(/\0/g, '').trimEnd() : String(v);
}

function binaryOf(value: unknown[] | undefined, inline: string | undefined): Uint8Array | null {
  if (inline) return Buffer.from(inline, 'base64');
  if (!value || value.length === 0) return null;
  const chunks = value.map((v) =>
    v instanceof ArrayBuffer ? new Uint8Array(v) : ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(0),
  );
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
