import { describe, expect, it } from 'vitest';

import { UnsafeArchiveError } from '../../core/errors.js';
import { normalizeEntryPath } from './entry-path.js';

describe('normalizeEntryPath', () => {
  it('normalizes harmless names', () => {
    expect(normalizeEntryPath('a.zip', './OCT2017//train/CNV/CNV-1-1.jpeg')).toBe('OCT2017/train/CNV/CNV-1-1.jpeg');
    expect(normalizeEntryPath('a.zip', 'COVID/images/')).toBe('COVID/images');
    expect(normalizeEntryPath('a.zip', 'Viral Pneumonia\\images\\x.png')).toBe('Viral Pneumonia/images/x.png');
    expect(normalizeEntryPath('a.zip', 'a..b/c..png')).toBe('a..b/c..png');
  });

  it.each([
    ['../evil.png', 'path traversal'],
    ['COVID/../../evil.png', 'path traversal'],
    ['COVID\\..\\..\\evil.png', 'path traversal'],
    ['/etc/passwd', 'absolute'],
    ['\\\\server\\share\\x.png', 'absolute'],
    ['C:/Windows/x.png', 'drive letter'],
    ['c:x.png', 'drive letter'],
    ['a\0b.png', 'NUL'],
    ['./', 'empty'],
  ])('refuses %j (%s)', (name, why) => {
    let err: unknown;
    try {
      normalizeEntryPath('bad.zip', name);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toContain('bad.zip');
    expect((err as Error).message).toContain(why);
  });
});
