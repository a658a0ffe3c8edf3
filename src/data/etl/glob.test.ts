import { describe, expect, it } from 'vitest';

import { globToRegExp } from './glob.js';

describe('globToRegExp', () => {
  const m = (glob: string, path: string) => globToRegExp(glob).test(path);

  it('matches the real datasets with or without a top folder, and not their masks', () => {
    expect(m('**/COVID/images/*.png', 'COVID/images/COVID-1.png')).toBe(true);
    expect(m('**/COVID/images/*.png', 'COVID-19_Radiography_Dataset/COVID/images/COVID-1.png')).toBe(true);
    expect(m('**/COVID/images/*.png', 'COVID-19_Radiography_Dataset/COVID/masks/COVID-1.png')).toBe(false);
    expect(m('**/Viral Pneumonia/images/*.png', 'Viral Pneumonia/images/Viral Pneumonia-1.png')).toBe(true);
    expect(m('**/CNV/*.{jpeg,jpg}', 'OCT2017/train/CNV/CNV-1016042-1.jpeg')).toBe(true);
    expect(m('**/CNV/*.{jpeg,jpg}', 'OCT2017/train/CNV/sub/CNV-1016042-1.jpeg')).toBe(false);
  });

  it('treats regex characters literally and ? as one character', () => {
    expect(m('a+b/(x).png', 'a+b/(x).png')).toBe(true);
    expect(m('a.png', 'aXpng')).toBe(false);
    expect(m('img-?.png', 'img-1.png')).toBe(true);
    expect(m('img-?.png', 'img-12.png')).toBe(false);
    expect(m('**/__MACOSX/**', '__MACOSX/OCT2017/x')).toBe(true);
    expect(m('**/._*', 'OCT2017/CNV/._CNV-1-1.jpeg')).toBe(true);
  });

  it('rejects an unclosed brace', () => {
    expect(() => globToRegExp('*.{png')).toThrow(SyntaxError);
  });
});
