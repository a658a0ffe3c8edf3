// A multipart form read before schema validation: files buffered (within @fastify/multipart's limits),
// text fields as plain strings, so a route's body schema reads like a JSON one
// (`modality: {type: 'string', enum: […]}`, `file: {isFile: true}`). A part repeated becomes an array,
// which a scalar schema refuses. A body the parser cannot make sense of (cut short, no boundary) is
// the client's 400, not a 500.
import type { MultipartFile, MultipartValue } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';

import { ValidationError } from '../core/errors.js';

export function isMultipartFile(v: unknown): v is MultipartFile {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'file' && typeof (v as MultipartFile).toBuffer === 'function';
}

/** A `preValidation` hook: replaces a multipart request's body with `{ field: string | file | (string | file)[] }`. */
export async function readMultipartForm(request: FastifyRequest): Promise<void> {
  if (!request.isMultipart()) return;
  let fields: Record<string, unknown> = {};
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') await part.toBuffer();
      fields = part.fields as Record<string, unknown>;
    }
  } catch (err) {
    if (typeof (err as { statusCode?: unknown }).statusCode === 'number') throw err; // the plugin's own 413/406
    throw new ValidationError(`malformed multipart body: ${(err as Error).message.split('\n')[0]!.slice(0, 200)}`);
  }
  const plain = (p: unknown) => (isMultipartFile(p) ? p : String((p as MultipartValue).value));
  request.body = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v.map(plain) : plain(v)]));
}
