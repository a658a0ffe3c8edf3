import { describe, expect, it } from 'vitest';

import { ValidationError } from '../core/errors.js';
import { assertValidKey, assertValidPrefix, compareKeys, MAX_KEY_BYTES } from './object-key.js';

describe('assertValidKey', () => {
  it.each(['a', 'a/b/c.png', 'datasets/v1/manifest.json', 'données/ü.png', '.hidden', 'a/.b', 'a..b', '...', 'x'.repeat(MAX_KEY_BYTES)])('accepts %s', (key) =>
    expect(assertValidKey(key)).toBe(key),
  );

  it.each([
    ['', 'empty'],
    ['/a', 'leading slash'],
    ['a/', 'trailing slash (empty segment)'],
    ['a//b', 'empty segment'],
    ['..', 'dot-dot'],
    ['../etc/passwd', 'traversal'],
    ['a/../../b', 'traversal inside'],
    ['a/./b', 'dot segment'],
    ['a\\b', 'backslash'],
    ['..\\x', 'backslash traversal'],
    ['a\u0000b', 'NUL'],
    ['a\nb', 'newline'],
    ['a\u007fb', 'DEL'],
    ['a\u009bb', 'C1 control'],
    ['a\ud800b', 'lone surrogate'],
    ['.tmp/x', 'reserved temp area'],
    ['x'.repeat(MAX_KEY_BYTES + 1), 'too long'],
    ['é'.repeat(MAX_KEY_BYTES / 2 + 1), 'too long in UTF-8 bytes'],
  ])('rejects %j (%s) with a ValidationError', (key) => {
    expect(() => assertValidKey(key)).toThrow(ValidationError);
  });

  it('escapes control characters in the message', () => {
    expect(() => assertValidKey('a\u0000b')).toThrow(/a\\u0000b/);
  });
});

describe('assertValidPrefix', () => {
  it.each(['', 'a', 'a/', 'a/b/', 'a/b/im', 'a/.', '.tm'])('accepts %j', (p) => expect(assertValidPrefix(p)).toBe(p));
  it.each(['/', '/a', '../', 'a/../', 'a//', 'a\\', 'a\u0000'])('rejects %j', (p) => {
    expect(() => assertValidPrefix(p)).toThrow(ValidationError);
  });
});

describe('compareKeys', () => {
  it('orders by UTF-8 bytes like S3, not by UTF-16 code units', () => {
    // U+FF5E (3 UTF-8 bytes, EF BD 9E) < U+1F600 (4 bytes, F0 9F 98 80) in UTF-8, but not in UTF-16.
    const keys = ['\u{1F600}', '\uFF5E', 'a/b', 'a-c', 'a'];
    expect([...keys].sort(compareKeys)).toEqual(['a', 'a-c', 'a/b', '\uFF5E', '\u{1F600}']);
    expect('\u{1F600}' < '\uFF5E').toBe(true); // the JS order that compareKeys must not follow
  });
});
