// Object keys: one set of rules for every backend, so a key accepted by the filesystem store is
// accepted by S3 and the other way round (objects can move between them), and no key can name a
// file outside the filesystem store's root.
import { ValidationError } from '../core/errors.js';

export const MAX_KEY_BYTES = 1024;

/** First segment reserved by the filesystem store for its in-flight temp files. */
export const RESERVED_TOP_SEGMENT = '.tmp';

// C0 controls, DEL and C1 controls: invisible in logs, NUL truncates paths in C APIs.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

// A lone surrogate encodes as U+FFFD in UTF-8, so two different keys would name the same object.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function reject(what: string, value: string, reason: string): never {
  throw new ValidationError(`invalid object ${what} '${printable(value)}': ${reason}`, { [what]: value, reason });
}

/** The value with control characters escaped, for error messages. */
function printable(value: string): string {
  const shown = value.length > 120 ? `${value.slice(0, 120)}…` : value;
  // eslint-disable-next-line no-control-regex
  return shown.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function checkCharacters(what: string, value: string): void {
  if (Buffer.byteLength(value, 'utf8') > MAX_KEY_BYTES) reject(what, value, `longer than ${MAX_KEY_BYTES} bytes`);
  if (value.startsWith('/')) reject(what, value, "must not start with '/'");
  if (value.includes('\\')) reject(what, value, "must not contain '\\'");
  if (CONTROL_CHARS.test(value)) reject(what, value, 'must not contain control characters');
  if (LONE_SURROGATE.test(value)) reject(what, value, 'must be well-formed Unicode');
}

function checkSegment(what: string, value: string, segment: string): void {
  if (segment === '') reject(what, value, 'must not contain empty segments');
  if (segment === '.' || segment === '..') reject(what, value, `must not contain a '${segment}' segment`);
}

/** Throws ValidationError unless `key` is a valid object key; returns it for chaining. */
export function assertValidKey(key: string): string {
  if (typeof key !== 'string' || key === '') reject('key', String(key), 'must not be empty');
  checkCharacters('key', key);
  const segments = key.split('/');
  for (const s of segments) checkSegment('key', key, s);
  if (segments[0] === RESERVED_TOP_SEGMENT) reject('key', key, `'${RESERVED_TOP_SEGMENT}/' is reserved`);
  return key;
}

/** Whether `key` passes assertValidKey, e.g. to skip foreign names found by a listing. */
export function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws ValidationError unless `prefix` is a valid list prefix: empty (everything), or the start of
 * a valid key. Only the last segment may be empty (`a/b/`) or partial (`a/b/im`).
 */
export function assertValidPrefix(prefix: string): string {
  if (typeof prefix !== 'string') reject('prefix', String(prefix), 'must be a string');
  if (prefix === '') return prefix;
  checkCharacters('prefix', prefix);
  const complete = prefix.split('/').slice(0, -1);
  for (const s of complete) checkSegment('prefix', prefix, s);
  return prefix;
}

/** UTF-8 byte order, the order S3 lists keys in (differs from JS string order past U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
