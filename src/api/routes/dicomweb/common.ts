// What the DICOMweb routes share: UIDs as the boundary accepts them (digits and dots, at most 64
// characters: they are only ever compared with the index, never turned into a storage key), Accept
// negotiation, absolute URLs for RetrieveURL, the media types.
import type { FastifyRequest } from 'fastify';

import { SecondreadError } from '../../../core/errors.js';
import { parseMediaType } from '../../../data/dicom/multipart.js';

export const DICOM_JSON = 'application/dicom+json';
export const DICOMWEB_TAGS = ['dicomweb'];
export const UID_PATTERN = '^[0-9]+(\\.[0-9]+)*$';
export const UID_RE = new RegExp(UID_PATTERN);
export const uidSchema = { type: 'string', pattern: UID_PATTERN, maxLength: 64, description: 'a DICOM UID (de-identified, as QIDO answers it)' } as const;

export const studyParams = { type: 'object', additionalProperties: false, required: ['study'], properties: { study: uidSchema } } as const;
export const seriesParams = {
  type: 'object',
  additionalProperties: false,
  required: ['study', 'series'],
  properties: { study: uidSchema, series: uidSchema },
} as const;
export const instanceParams = {
  type: 'object',
  additionalProperties: false,
  required: ['study', 'series', 'instance'],
  properties: { study: uidSchema, series: uidSchema, instance: uidSchema },
} as const;

/** A DICOM JSON answer (an array of datasets keyed by tag); described, not validated, in the OpenAPI document. */
export const dicomJsonArraySchema = {
  type: 'array',
  description: 'DICOM JSON Model (PS3.18 Annex F): datasets keyed by tag (ggggeeee), each attribute {vr, Value | InlineBinary}',
  items: { type: 'object', additionalProperties: true },
} as const;

export class NotAcceptableError extends SecondreadError {
  constructor(offered: string[]) {
    super('not_acceptable', `none of the media types in Accept can be served here (offered: ${offered.join(', ')})`, 406, { offered });
  }
}

/**
 * Whether the request's Accept allows `type` (with `check` for the acceptable entry's parameters).
 * Absent or `*∕*` accepts anything; unparsable entries are skipped.
 */
export function accepts(request: FastifyRequest, type: string, check: (params: Record<string, string>) => boolean = () => true): boolean {
  const header = request.headers.accept;
  if (header === undefined || header.trim() === '') return true;
  const [main] = type.split('/');
  for (const entry of splitAccept(header)) {
    let mt;
    try {
      mt = parseMediaType(entry);
    } catch {
      continue;
    }
    if (mt.params.q !== undefined && Number(mt.params.q) === 0) continue;
    if (mt.type === '*/*' || mt.type === `${main}/*`) return true;
    if (mt.type === type && check(mt.params)) return true;
  }
  return false;
}

/** Commas separate Accept entries, except inside quoted parameter values. */
function splitAccept(header: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of header) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

/** Absolute base URL of the DICOMweb service as this request reached it (for RetrieveURL). */
export function serviceBase(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/dicomweb`;
}

export function studyUrl(base: string, study: string): string {
  return `${base}/studies/${study}`;
}
export function seriesUrl(base: string, study: string, series: string): string {
  return `${studyUrl(base, study)}/series/${series}`;
}
export function instanceUrl(base: string, study: string, series: string, instance: string): string {
  return `${seriesUrl(base, study, series)}/instances/${instance}`;
}

/** Patient data: never in shared caches, never sniffed into another type. */
export const PRIVATE_HEADERS = { 'cache-control': 'private, no-store', 'x-content-type-options': 'nosniff' } as const;
