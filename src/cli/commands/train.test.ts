import { describe, expect, it, vi } from 'vitest';

import { main } from '../main.js';
import { formatConfusion } from './train.js';

async function run(args: string[]): Promise<{ code: number; err: string }> {
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await main(['node', 'secondread', ...args]);
    return { code, err: err.mock.calls.map((c) => String(c[0])).join('') };
  } finally {
    err.mockRestore();
    out.mockRestore();
  }
}

describe('secondread train (argument handling)', () => {
  it('refuses options next to --resume (the run keeps its own)', async () => {
    const r = await run(['train', '--resume', 'run_x', '--epochs', '3', '--batch-size', '8']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/do not pass --epochs, --batch-size/);
  });

  it('rejects malformed numbers and unknown choices before doing anything', async () => {
    expect((await run(['train', '--dataset', 'ds-x', '--lr', 'fast'])).err).toMatch(/--lr must be a number/);
    expect((await run(['train', '--dataset', 'ds-x', '--balance', 'oversample'])).err).toMatch(/Allowed choices are weights, sampler, none/);
    expect((await run(['train', '--dataset', 'ds-x', '--model', 'vit-huge'])).code).not.toBe(0);
    expect((await run(['train', '--dataset', 'ds-x', '--drop-path', '1'])).err).toMatch(/--drop-path must be a number in range/);
    expect((await run(['train', '--dataset', 'ds-x', '--layer-decay', '0'])).err).toMatch(/--layer-decay must be a number in range/);
    expect((await run(['train', '--dataset', 'ds-x', '--mixup', '-1'])).err).toMatch(/--mixup must be a number in range/);
    expect((await run(['train', '--dataset', 'ds-x', '--cutmix', 'x'])).err).toMatch(/--cutmix must be a number/);
  });
});

describe('formatConfusion', () => {
  it('aligns counts under numbered columns, rows named by class', () => {
    expect(
      formatConfusion(
        [
          [12, 3],
          [0, 100],
        ],
        ['a', 'bb'],
      ).split('\n'),
    ).toEqual(['truth \\ predicted    1   2', '1 a                 12   3', '2 bb                 0 100']);
  });
});
