// Identifiers: random ids for rows and jobs, content hashes for immutable things (dataset versions).
import { createHash, randomBytes } from 'node:crypto';

/** A sortable, URL-safe id: time prefix (ms, base36) + 10 random bytes (hex). */
export function newId(prefix = ''): string {
  const t = Date.now().toString(36).padStart(9, '0');
  return `${prefix}${t}${randomBytes(10).toString('hex')}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
