// multipart/related (RFC 2387, bodies per RFC 2046 §5.1), as DICOMweb moves instances: STOW-RS requests
// and WADO-RS responses. The whole body is in memory (the caller bounds it: Fastify's bodyLimit), so
// parsing is a scan for the delimiter with Buffer.indexOf, with bounds on the number of parts, each
// part's size and its header block. Malformed input is a typed 4xx error, never a partial result.
import { randomBytes } from 'node:crypto';

import { SecondreadError } from '../../core/errors.js';

export class MultipartError extends SecondreadError {
  constructor(message: string, httpStatus = 400, code = 'multipart_invalid', details?: Record<string, unknown>) {
    super(code, message, httpStatus, details);
  }
}

export interface MediaType {
  /** Lower-cased type/subtype. */
  type: string;
  /** Parameters by lower-cased name, values unquoted. */
  params: Record<string, string>;
}

export interface MultipartPart {
  /** Header fields by lower-cased name. */
  headers: Record<string, string>;
  /** The part's media type (its Content-Type, else the request's `type` parameter). */
  contentType: MediaType;
  body: Buffer;
}

export interface MultipartLimits {
  maxParts: number;
  maxPartBytes: number;
  /** The header block of one part (default 8 KiB). */
  maxHeaderBytes?: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * RFC 2046 bchars, not ending in a space. RFC 2046 allows 70 of them, but real senders use more
 * (Orthanc's DICOMweb plugin: two UUIDs, 73 characters), so up to 200 are taken.
 */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,199}[0-9A-Za-z'()+_,\-./:=?]$/;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** Parses a media type with parameters (RFC 9110 §8.3.1): `multipart/related; type="application/dicom"; boundary=x`. */
export function parseMediaType(value: string): MediaType {
  const s = value.trim();
  const semi = s.indexOf(';');
  const type = (semi < 0 ? s : s.slice(0, semi)).trim().toLowerCase();
  const [main, sub, extra] = type.split('/');
  if (!main || !sub || extra !== undefined || !TOKEN.test(main) || !TOKEN.test(sub))
    throw new MultipartError(`'${value.slice(0, 80)}' is not a media type`, 415, 'unsupported_media_type');
  const params: Record<string, string> = {};
  let i = semi < 0 ? s.length : semi + 1;
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ';')) i++;
    if (i >= s.length) break;
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new MultipartError(`media type parameter without a value in '${value.slice(0, 80)}'`, 400);
    const name = s.slice(i, eq).trim().toLowerCase();
    if (!TOKEN.test(name)) throw new MultipartError(`bad media type parameter name '${name.slice(0, 40)}'`, 400);
    i = eq + 1;
    let v = '';
    if (s[i] === '"') {
      i++;
      for (; i < s.length && s[i] !== '"'; i++) v += s[i] === '\\' && i + 1 < s.length ? s[++i] : s[i];
      if (s[i] !== '"') throw new MultipartError(`unterminated quoted string in '${value.slice(0, 80)}'`, 400);
      i++;
    } else {
      const end = s.indexOf(';', i);
      v = s.slice(i, end < 0 ? s.length : end).trim();
      i = end < 0 ? s.length : end;
    }
    params[name] = v;
  }
  return { type, params };
}

/**
 * The parts of a multipart/related body. `contentType` is the request's Content-Type header; the parts'
 * own Content-Type defaults to its `type` parameter (RFC 2387 §3.1).
 */
export function parseMultipartRelated(
  contentType: string,
  body: Uint8Array,
  limits: MultipartLimits,
): { type: MediaType; root: string | null; parts: MultipartPart[] } {
  const mt = parseMediaType(contentType);
  if (mt.type !== 'multipart/related') throw new MultipartError(`expected multipart/related, got ${mt.type}`, 415, 'unsupported_media_type');
  const boundary = mt.params.boundary;
  if (!boundary || !BOUNDARY.test(boundary)) throw new MultipartError('multipart/related needs a boundary parameter of 1–200 allowed characters', 400);
  const typeParam = mt.params.type ? parseMediaType(mt.params.type) : null;
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  const maxHeader = limits.maxHeaderBytes ?? 8192;

  // The first boundary may open the body or follow a preamble (which ends with CRLF).
  let at: number;
  if (buf.subarray(0, dashBoundary.length).equals(dashBoundary)) at = dashBoundary.length;
  else {
    const first = buf.indexOf(delimiter);
    if (first < 0) throw new MultipartError('the body holds no boundary delimiter: not the multipart body its Content-Type announces', 400);
    at = first + delimiter.length;
  }
  const parts: MultipartPart[] = [];
  for (;;) {
    // After a delimiter: "--" closes the body; otherwise optional whitespace (transport padding) then CRLF.
    if (buf[at] === 0x2d && buf[at + 1] === 0x2d) break;
    while (buf[at] === 0x20 || buf[at] === 0x09) at++;
    if (!(buf[at] === 0x0d && buf[at + 1] === 0x0a)) throw new MultipartError(`malformed boundary line at byte ${at}`, 400);
    at += 2;
    if (parts.length >= limits.maxParts)
      throw new MultipartError(`more than ${limits.maxParts} parts in one request`, 413, 'payload_too_large', { maxParts: limits.maxParts });
    const next = buf.indexOf(delimiter, at);
    if (next < 0) throw new MultipartError('the body ends inside a part (no closing boundary): it was cut', 400);
    const { headers, bodyStart } = readHeaders(buf, at, next, maxHeader);
    const partBody = buf.subarray(bodyStart, next);
    if (partBody.length > limits.maxPartBytes)
      throw new MultipartError(
        `part ${parts.length + 1} is ${partBody.length} bytes, over the ${limits.maxPartBytes}-byte limit for one part`,
        413,
        'payload_too_large',
        {
          part: parts.length + 1,
          maxPartBytes: limits.maxPartBytes,
        },
      );
    const ct = headers['content-type'] ? parseMediaType(headers['content-type']) : typeParam;
    if (!ct) throw new MultipartError(`part ${parts.length + 1} has no Content-Type and the request names no type parameter`, 400);
    parts.push({ headers, contentType: ct, body: partBody });
    at = next + delimiter.length;
    if (at > buf.length) throw new MultipartError('the body ends inside a boundary line', 400);
  }
  return { type: typeParam ?? { type: '', params: {} }, root: mt.params.start ?? null, parts };
}

function readHeaders(buf: Buffer, from: number, limit: number, maxHeader: number): { headers: Record<string, string>; bodyStart: number } {
  // A part without headers starts with the empty line right away.
  if (buf[from] === 0x0d && buf[from + 1] === 0x0a) return { headers: {}, bodyStart: from + 2 };
  const end = buf.indexOf(HEADER_END, from);
  if (end < 0 || end > limit) throw new MultipartError('a part has no end of its headers (blank line)', 400);
  if (end - from > maxHeader) throw new MultipartError(`a part's headers exceed ${maxHeader} bytes`, 400);
  const headers: Record<string, string> = {};
  for (const line of buf.toString('latin1', from, end).split('\r\n')) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
    if (!TOKEN.test(name)) throw new MultipartError(`malformed part header line '${line.slice(0, 60)}'`, 400);
    headers[name] = line.slice(colon + 1).trim();
  }
  return { headers, bodyStart: end + HEADER_END.length };
}

/** A multipart/related body of `parts`, and the Content-Type header that announces it. */
export function buildMultipartRelated(
  type: string,
  parts: { contentType: string; body: Uint8Array; headers?: Record<string, string> }[],
): { contentType: string; body: Buffer } {
  const boundary = `secondread-${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const extra = Object.entries(p.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Type: ${p.contentType}\r\n${extra}\r\n`, 'latin1'),
      Buffer.from(p.body.buffer, p.body.byteOffset, p.body.byteLength),
      CRLF,
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { contentType: `multipart/related; type="${type}"; boundary=${boundary}`, body: Buffer.concat(chunks) };
}
