// `secondread drift profile|check|status` in-process on the evaluation fixture's home (brightness classifier,
// production alias): the profile from a 40-image validation split, a check of 30 bright reads (drift, exit 1 with
// --fail-on-drift), status listing it; bad flags are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { grayPng } from '../../data/images/testing.js';
import { observeRead } from '../../monitoring/drift/observe.js';
import { type DriftFixture, openDriftFixture } from '../../monitoring/drift/testing.js';
import { BRIGHTNESS_SIZE, type FixtureImage } from '../../monitoring/evaluations/testing.js';
import { runCli, setEnv } from '../testing.js';
import { profileLine } from './drift.js';

let f: DriftFixture;
let restore: () => void;
const VAL: FixtureImage[] = Array.from({ length: 40 }, (_, i) => ({
  class: i % 2 ? 'lung-covid' : 'lung-normal',
  split: 'val',
  value: i % 2 ? 130 + i : 20 + i,
}));

beforeAll(async () => {
  f = await openDriftFixture(VAL);
  restore = setEnv({ SECONDREAD_HOME: f.home, LOG_LEVEL: 'silent', SECONDREAD_CONFIG: '' });
});
afterAll(async () => {
  restore();
  await f.close();
});

describe('secondread drift', () => {
  it('profile, check, status', async () => {
    expect((await runCli('drift', 'status')).out).toContain('no drift checks yet');
    const prof = await runCli('drift', 'profile', 'brightness', '--dataset-version', f.valVersion);
    expect(prof.code).toBe(0);
    expect(prof.out).toMatch(/profiled brightness v1 on val of .*: 40 images.*no embeddings \(the model exports none/);

    const model = await f.registry.loadForInference('brightness', { version: 1 });
    for (let i = 0; i < 30; i++) {
      const png = await grayPng(BRIGHTNESS_SIZE, BRIGHTNESS_SIZE, () => 200 + i);
      const p = await model.predict(png);
      await observeRead(f.db, {
        studyId: null,
        model: 'brightness',
        version: 1,
        modality: 'cxr',
        top: p.top,
        image: png,
        at: new Date(Date.now() - (30 - i) * 1000).toISOString(),
      });
    }
    await model.close();

    const check = await runCli('drift', 'check', 'brightness', '--window', '30', '--fail-on-drift');
    // --fail-on-drift sets the exit code the bin keeps (bin/secondread.js); reset it for the test runner.
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
    expect(check.out).toMatch(/brightness v1 \(all\) — 30 reads/);
    expect(check.out).toMatch(/intensity_mean_ks .*DRIFT/);
    expect(check.out).toContain('skipped embedding_mmd: the reference profile has no embeddings');
    expect(check.out).toMatch(/DRIFT DETECTED \(check drc_/);

    const status = await runCli('drift', 'status', 'brightness', '--json');
    const s = JSON.parse(status.out) as { profile: { images: number }; checks: { detected: boolean }[] };
    expect(s.profile.images).toBe(40);
    expect(s.checks.map((c) => c.detected)).toEqual([true]);

    expect((await runCli('drift', 'check', 'brightness', '--window', 'soon')).code).toBe(2);
    expect((await runCli('drift', 'check', 'brightness', '--modality', 'mri')).code).toBe(2);
  });

  it('status says why a model has no profile: being computed, or failed at registration', () => {
    const at = '2026-12-06T10:00:00.000Z';
    expect(profileLine('m', 3, null, null)).toBe('m v3: no reference profile (run `secondread drift profile m --version 3`)');
    expect(profileLine('m', 3, null, { state: 'computing', datasetVersion: 'dsv_1', split: 'val', at })).toMatch(
      /^m v3: reference profile being computed since .* \(on val of dsv_1\)/,
    );
    expect(
      profileLine('m', 3, null, { state: 'failed', datasetVersion: 'dsv_1', split: 'val', at, error: { code: 'validation', message: 'too few images' } }),
    ).toMatch(
      /^m v3: the reference profile could not be computed at registration \(.*\): too few images; fix it and run `secondread drift profile m --version 3`$/,
    );
  });
});
