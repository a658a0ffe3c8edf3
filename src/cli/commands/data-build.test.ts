// The data commands end to end, in-process: build (twice: the rerun is a no-op with the same id),
// ls, stats, cache, validate — and validate's non-zero exit on a manifest corrupted in the DB.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTestZip } from '../../data/archive/testing.js';
import { rsnaFiles, vindrFiles, writeFolder, writeSeedArchives } from '../../data/etl/testing.js';
import { openDatabase } from '../../storage/db.js';
import { runCli, tempCliHome } from '../testing.js';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/datasets.yaml');
const LABELLED = resolve(import.meta.dirname, '../../../examples/datasets-rsna-vindr.yaml');
let dir: string;
let cli: Awaited<ReturnType<typeof tempCliHome>>;

beforeAll(async () => {
  cli = await tempCliHome('sr-cli-data-');
  dir = cli.dir;
  await mkdir(join(dir, 'raw'));
  await writeSeedArchives(join(dir, 'raw'), { cxrPerClass: 4, tbPerClass: 4, octPatients: 3, octScans: 2 });
});
afterAll(async () => {
  await cli?.cleanup();
});

describe('secondread data …', () => {
  let version = '';

  it('build: builds and validates, prints the id; a rerun is a no-op with the same id', async () => {
    const first = await runCli('data', 'build', '--config', EXAMPLE, '--raw-dir', join(dir, 'raw'));
    expect(first.code).toBe(0);
    version = /built dataset version (ds-[0-9a-f]{20})/.exec(first.out)![1]!;
    expect(first.out).toContain(`dataset version ${version}: 48 images — OK`);
    expect(first.out.trim().split('\n').at(-1)).toBe(version);
    const again = await runCli('data', 'build', '--config', EXAMPLE, '--raw-dir', join(dir, 'raw'), '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ version, built: false, validation: { ok: true } });
  });

  it('build: the RSNA zip and VinDr folder of examples/datasets-rsna-vindr.yaml, with what the sheets left out', async () => {
    const raw = join(dir, 'raw-labelled');
    await mkdir(raw);
    await writeTestZip(join(raw, 'rsna-pneumonia-detection-challenge.zip'), (await rsnaFiles({ opacity: 2, normal: 2, notNormal: 1 })).files);
    await writeFolder(join(raw, 'vindr-cxr'), (await vindrFiles({ normal: 2, opacity: 2, cardio: 1, split: 1, samePatient: 0 })).files);
    const r = await runCli('data', 'build', '--config', LABELLED, '--raw-dir', raw);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/built dataset version ds-[0-9a-f]{20}: 8 images/);
    expect(r.out).toContain('labels sheets:');
    expect(r.out).toMatch(
      /rsna-pneumonia \(rsna sheet, \d+ rows, 7 images named\): 4 kept, 2 left out by the class rules, 1 files not in the sheet, 1 named without a file; 3 boxes/,
    );
    expect(r.out).toMatch(/1 × no class rule for 'No Lung Opacity \/ Not Normal'/);
    expect(r.out).toMatch(/vindr-cxr \(vindr sheet, \d+ rows, 6 images named\): 4 kept, 2 left out/);
    expect(r.out).toMatch(/1 × no class rule for 'Cardiomegaly'/);
  });

  it('build: a clear error and exit 2 for a config that points at missing archives', async () => {
    const r = await runCli('data', 'build', '--config', EXAMPLE, '--raw-dir', join(dir, 'nowhere'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/file not found: .*COVID-19_Radiography_Dataset\.zip/);
    expect(r.err).not.toMatch(/at .*\.ts:\d+/);
  });

  it('ls, stats and cache', async () => {
    expect((await runCli('data', 'ls')).out).toMatch(new RegExp(`${version}\\s+ready\\s+48`));
    const stats = await runCli('data', 'stats', version.slice(0, 8));
    expect(stats.code).toBe(0);
    expect(stats.out).toMatch(/lung-tuberculosis\s+\d+\s+\d+\s+\d+\s+4/);
    expect(stats.out).toContain('ignored');
    const cache = await runCli('data', 'cache', version, '--size', '16', '--json');
    expect(cache.code).toBe(0);
    const files = JSON.parse(cache.out).files as { split: string; count: number }[];
    expect(files.reduce((n, f) => n + f.count, 0)).toBe(48);
    expect((await runCli('data', 'cache', version, '--size', '3')).code).toBe(2);
  });

  it('validate: exit 0 when clean, non-zero with the leak named when the manifest is corrupted', async () => {
    expect((await runCli('data', 'validate', version)).code).toBe(0);
    const db = openDatabase({ sqlitePath: join(dir, 'home', 'secondread.db') });
    try {
      const rows = await db.selectFrom('dataset_images').select(['object_key', 'patient_key', 'split']).where('patient_key', 'is not', null).execute();
      const a = rows[0]!;
      const other = a.split === 'train' ? 'test' : 'train';
      await db.updateTable('dataset_images').set({ split: other }).where('object_key', '=', a.object_key).execute();
      const r = await runCli('data', 'validate', version, '--json');
      expect(r.code).not.toBe(0);
      expect(JSON.parse(r.out).leaks[0]).toMatchObject({ kind: 'patient_in_several_splits', key: a.patient_key });
      expect(r.err).toMatch(/failed validation/);
    } finally {
      await db.destroy();
    }
  });
});
