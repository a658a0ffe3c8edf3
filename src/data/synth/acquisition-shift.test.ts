// The acquisition-shift option: a forced scanner style renders the same patient and finding under another
// acquisition (only the acquisition stream's output differs), and an unknown style is refused.
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../core/errors.js';
import { renderTask } from './render.js';
import { synthesizeArchives } from './synthesize.js';

describe('acquisition shift', () => {
  it('forces the scanner style; the drawn style is used otherwise', () => {
    const base = { cls: 'lung-covid' as const, seed: 42, width: 64, height: 64 };
    const drawn = renderTask(base);
    for (const scanner of ['cr', 'dr', 'film']) {
      const forced = renderTask({ ...base, scanner });
      expect(forced.info.scanner).toBe(scanner);
      expect(forced.info.severity).toBe(drawn.info.severity);
      if (scanner === drawn.info.scanner) expect(Buffer.from(forced.data).equals(Buffer.from(drawn.data))).toBe(true);
      else expect(Buffer.from(forced.data).equals(Buffer.from(drawn.data))).toBe(false);
    }
    expect(renderTask({ cls: 'oct-dme', seed: 7, width: 64, height: 62, scanner: 'single' }).info.scanner).toBe('single');
  });

  it('refuses an unknown style', async () => {
    await expect(synthesizeArchives({ outDir: '/nonexistent-never-written', cxrScanner: 'xray-2000' })).rejects.toBeInstanceOf(ValidationError);
  });
});
