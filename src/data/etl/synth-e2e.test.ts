// End to end with the synthetic-phantom generator: its archives (the real datasets' layouts) through
// the shipped example config, as a user would run it; validated, and the rerun is a no-op.
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { listImages } from '../datasets/repository.js';
import { synthesizeArchives, type SynthResult } from '../synth/index.js';
import { validateVersion } from '../validate/validate-version.js';
import { buildDataset } from './build.js';
import { loadDatasetConfig } from './config.js';
import { type Fixture, openFixture } from './testing.js';

const EXAMPLE = resolve(import.meta.dirname, '../../../examples/datasets.yaml');

let fx: Fixture;
let synth: SynthResult;
beforeAll(async () => {
  fx = await openFixture('sr-synth-e2e-');
  synth = await synthesizeArchives({ outDir: join(fx.dir, 'raw'), perClass: 12, cxrSize: 64, octWidth: 64, octHeight: 62, workers: 0 });
});
afterAll(async () => {
  await fx.cleanup();
});

describe('synth → build → validate', () => {
  it('builds every synthesized image into a valid version, patients grouped', async () => {
    const config = loadDatasetConfig(EXAMPLE, { rawDir: join(fx.dir, 'raw') });
    const r = await buildDataset({ db: fx.db, objects: fx.objects, config });
    const filed = Object.values(synth.manifest.classCounts).reduce((a, b) => a + (b ?? 0), 0);
    expect(r.report.images + r.report.duplicates.count + r.report.quarantined.count).toBe(filed);
    expect(r.report.quarantined.count).toBe(0);
    expect(r.report.patients.keyed).toBe(synth.manifest.oct!.patients);
    const rows = await listImages(fx.db, r.versionId);
    for (const [cls, n] of Object.entries(synth.manifest.classCounts)) expect(rows.filter((x) => x.class === cls)).toHaveLength(n!);
    const report = await validateVersion(fx.db, r.versionId, { objects: fx.objects });
    expect(report.ok).toBe(true);
    expect(report.leaks).toEqual([]);
    expect(await buildDataset({ db: fx.db, objects: fx.objects, config })).toMatchObject({ versionId: r.versionId, built: false });
  });
});
