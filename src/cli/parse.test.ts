// Comma-separated integer flags (--preferred-batch-sizes, --stem-strides) are checked element by element.
import { describe, expect, it } from 'vitest';

import { parseIntegerList } from './parse.js';

describe('parseIntegerList', () => {
  it('reads each element, trimming spaces', () => {
    expect(parseIntegerList('--stem-strides', '1, 2,2')).toEqual([1, 2, 2]);
  });

  it('names the flag and the bad element', () => {
    expect(() => parseIntegerList('--stem-strides', '1,x,2')).toThrow(/--stem-strides must be a positive integer, got 'x'/);
    expect(() => parseIntegerList('--preferred-batch-sizes', '4,0', 1, 4096)).toThrow(/from 1 to 4096, got '0'/);
    expect(() => parseIntegerList('--stem-strides', '1,,2')).toThrow(/got ''/);
  });
});
