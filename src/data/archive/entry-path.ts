// Entry names are attacker-controlled. This module decides whether a name is acceptable and returns
// its normalized form; it never turns a name into a filesystem path (nothing in secondread does: an
// entry name is only ever metadata and a pattern-matching subject).
import { UnsafeArchiveError } from '../../core/errors.js';

/**
 * Normalizes an archive entry name ('./a//b/' → 'a/b') or throws UnsafeArchiveError when it tries to
 * escape the extraction root: '..' segments, absolute paths, drive letters, UNC paths, NUL bytes.
 * Backslashes count as separators, so 'a\..\b' is caught too (Windows tools write them).
 */
export function normalizeEntryPath(archive: string, name: string): string {
  const refuse = (why: string): never => {
    throw new UnsafeArchiveError(`archive '${archive}' was refused: entry '${printable(name)}' ${why}`, { archive, entry: printable(name), reason: why });
  };
  if (name.includes('\0')) refuse('contains a NUL byte');
  const slashed = name.replace(/\\/g, '/');
  if (slashed.startsWith('/')) refuse('is an absolute path');
  if (/^[a-zA-Z]:/.test(slashed)) refuse('starts with a drive letter');
  const segments = slashed.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) refuse("contains a '..' segment (path traversal)");
  if (segments.length === 0) refuse('has an empty name');
  return segments.join('/');
}

function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 300);
}
