import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { runCli } from '../testing.js';

describe('secondread data synth', () => {
  it('documents its options and the archive layouts in --help', async () => {
    const { code, out } = await runCli('data', 'synth', '--help');
    expect(code).toBe(0);
    for (const text of [
      '--per-class',
      '--label-noise',
      '--cxr-size',
      '--oct-width',
      '--datasets',
      '--force',
      'COVID-19_Radiography_Dataset.zip',
      'OCT2017.tar.gz',
      'docs/synthetic-data.md',
    ]) {
      expect(out).toContain(text);
    }
  });

  it('writes the archives and prints a summary table; refuses to reuse the directory without --force', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secondread-synth-cli-'));
    try {
      const args = ['data', 'synth', '--out', dir, '--per-class', '3', '--cxr-size', '40', '--oct-width', '40', '--oct-height', '38', '--workers', '0'];
      const first = await runCli(...args);
      expect(first.code).toBe(0);
      expect(first.out).toMatch(/COVID-19_Radiography_Dataset\.zip\s+Viral Pneumonia\s+3/);
      expect(first.out).toMatch(/OCT2017\.tar\.gz\s+DRUSEN\s+3/);
      expect((await readdir(dir)).sort()).toEqual([
        'COVID-19_Radiography_Dataset.zip',
        'OCT2017.tar.gz',
        'TB_Chest_Radiography_Database.zip',
        'synth-manifest.json',
      ]);
      const again = await runCli(...args);
      expect(again.code).toBe(2);
      expect(again.err).toMatch(/not empty.*--force/);
      expect((await runCli(...args, '--force')).code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--task detect writes the VinDr-CXR layout, its dataset config and the true boxes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'secondread-synth-detect-cli-'));
    try {
      const r = await runCli('data', 'synth', '--task', 'detect', '--out', dir, '--images', '5', '--size', '96', '--workers', '0');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/5 images \(\d+ with findings\), 96 px, png/);
      expect(r.out).toMatch(/Pneumothorax\s+\d+ true boxes/);
      expect((await readdir(dir)).sort()).toEqual(['datasets-detect.yaml', 'synth-detect-manifest.json', 'vindr-cxr-synth']);
      expect((await readdir(join(dir, 'vindr-cxr-synth', 'train'))).filter((f) => /^[0-9a-f]{32}\.png$/.test(f))).toHaveLength(5);
      expect(await readdir(join(dir, 'vindr-cxr-synth', 'annotations'))).toEqual(['annotations_train.csv']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad option values without a stack trace', async () => {
    const bad = await runCli('data', 'synth', '--out', '/tmp/never', '--datasets', 'covid,mnist');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/unknown: mnist/);
    expect(bad.err).not.toMatch(/at .*\.ts:\d+/);
    expect((await runCli('data', 'synth', '--out', '/tmp/never', '--per-class', 'many')).code).not.toBe(0);
  });
});
