// The profile at registration: a version registered from a run on a dataset version gets its reference profile from
// that version's validation split without anyone running `drift profile`; a version whose profile cannot be computed
// is still registered, with a warning and a `failed` record; an import naming no dataset version gets neither, nor
// does a detector (no classifier outputs to profile).
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { finishedRunWithDetector, finishedRunWithModel } from '../../tracking/testing.js';
import { brightnessClassifierOnnx, brightnessMeta, publishTinyVersion } from '../evaluations/testing.js';
import { loadProfileComputation, profileOnRegistration } from './auto-profile.js';
import { loadProfile, profileSummary } from './profile.js';
import { cyclingValSplit, type DriftFixture, openDriftFixture } from './testing.js';

const VAL = cyclingValSplit(24, 20, 8);

function capturingLogger(): { logger: pino.Logger; lines: () => { level: number; msg: string; model?: string }[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return {
    logger: pino({ level: 'info' }, stream),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { level: number; msg: string; model?: string }),
  };
}

describe('drift profile at registration', () => {
  let f: DriftFixture;
  beforeEach(async () => {
    f = await openDriftFixture(VAL);
  });
  afterEach(async () => f.close());

  it('stores the profile of a version registered from a run on a dataset version, from its validation split', async () => {
    const log = capturingLogger();
    const off = profileOnRegistration(f.registry, { db: f.db, objects: f.objects, logger: log.logger });
    const mv = await f.registry.register({ runId: await finishedRunWithModel(f.registry.tracker, { datasetVersion: f.valVersion }), name: 'cxr-oct', by: 't' });
    expect(mv.datasetVersion).toBe(f.valVersion);
    const profile = await loadProfile(f.registry, 'cxr-oct', mv.version);
    expect(profile.datasetVersion).toBe(f.valVersion);
    expect(profile.split).toBe('val');
    expect(profileSummary(profile).images).toBe(VAL.length);
    expect(profileSummary(profile).modalityMix).toEqual({ cxr: 16, oct: 8 });
    expect(await loadProfileComputation(f.registry, 'cxr-oct', mv.version)).toMatchObject({ state: 'stored', datasetVersion: f.valVersion, split: 'val' });
    expect(log.lines().some((l) => l.level >= 40)).toBe(false);

    // Unsubscribed: the next version is registered without a profile.
    off();
    const next = await f.registry.register({
      runId: await finishedRunWithModel(f.registry.tracker, { datasetVersion: f.valVersion }),
      name: 'cxr-oct',
      by: 't',
    });
    expect(await loadProfileComputation(f.registry, 'cxr-oct', next.version)).toBeNull();
  });

  it('registers the version even when its profile fails, with a warning and a failed record', async () => {
    const log = capturingLogger();
    profileOnRegistration(f.registry, { db: f.db, objects: f.objects, logger: log.logger });
    // The run names a dataset version that holds no validation images: the profile cannot be computed.
    const empty = await publishTinyVersion(f.db, f.objects, [{ class: 'lung-normal', split: 'train', value: 40 }]);
    const mv = await f.registry.register({ runId: await finishedRunWithModel(f.registry.tracker, { datasetVersion: empty }), name: 'cxr-oct', by: 't' });
    expect((await f.registry.resolve('cxr-oct')).version).toBe(mv.version);
    const rec = await loadProfileComputation(f.registry, 'cxr-oct', mv.version);
    expect(rec?.state).toBe('failed');
    expect(rec?.error?.message).toMatch(/has 0 images of the model's classes/);
    expect(log.lines().filter((l) => l.level === 40 && l.model === 'cxr-oct')).toHaveLength(1);
  });

  it('skips a detector: no profile, no failed record, no warning', async () => {
    const log = capturingLogger();
    profileOnRegistration(f.registry, { db: f.db, objects: f.objects, logger: log.logger });
    const mv = await f.registry.register({ runId: await finishedRunWithDetector(f.registry.tracker), name: 'det-cxr', by: 't' });
    expect(mv.metadata.detection).toBeDefined();
    expect(await loadProfileComputation(f.registry, 'det-cxr', mv.version)).toBeNull();
    expect(log.lines().filter((l) => l.level >= 40)).toEqual([]);
    expect(log.lines().some((l) => l.level === 30 && /is a detector/.test(l.msg))).toBe(true);
  });

  it('profiles an import whose meta names a dataset version, and skips one that names none', async () => {
    profileOnRegistration(f.registry, { db: f.db, objects: f.objects, logger: capturingLogger().logger });
    const named = await f.registry.importOnnxBytes({
      name: 'imported',
      bytes: brightnessClassifierOnnx(),
      meta: { ...brightnessMeta(), datasetVersion: f.valVersion },
      by: 't',
    });
    expect((await loadProfile(f.registry, 'imported', named.version)).rows).toHaveLength(VAL.length);
    const bare = await f.registry.importOnnxBytes({ name: 'imported', bytes: brightnessClassifierOnnx(), meta: brightnessMeta(), by: 't' });
    expect(await loadProfileComputation(f.registry, 'imported', bare.version)).toBeNull();
  });
});
