// startLoop's wiring of the drift profile at registration: a process that runs retrain jobs (serve with the embedded
// queue, a worker, `secondread retrain`) profiles every version its registry creates — the retrain candidate — while
// `drift.profileOnRegister` is on, and stops when the loop closes; with the key off it profiles nothing. And the path
// serve composes: a scheduled drift check that detects drift raises the alarm the retrain trigger listens to, and a
// retrain job is enqueued (retrain.onDrift).
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { manualClock } from '../core/clock.js';
import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { createInProcessQueue, listJobsOfKind } from '../jobs/index.js';
import { DriftScheduler, loadProfileComputation, recordObservation } from '../monitoring/drift/index.js';
import { computeProfile } from '../monitoring/drift/profile.js';
import { DriftService } from '../monitoring/drift/service.js';
import { cyclingValSplit, type DriftFixture, openDriftFixture } from '../monitoring/drift/testing.js';
import { BRIGHTNESS_SIZE } from '../monitoring/evaluations/testing.js';
import { finishedRunWithModel } from '../tracking/testing.js';
import { startLoop } from './loop.js';
import { RETRAIN_JOB } from './retrain.js';

const VAL = cyclingValSplit(21, 30, 9);

describe('startLoop: the drift profile at registration', () => {
  let f: DriftFixture;
  beforeEach(async () => {
    f = await openDriftFixture(VAL);
  });
  afterEach(async () => f.close());

  async function loopWith(profileOnRegister: boolean) {
    const config = loadConfig({ env: { SECONDREAD_HOME: f.home }, overrides: { drift: { profileOnRegister } } });
    const queue = createInProcessQueue({ db: f.db, logger: silentLogger }); // never started: only the wiring is under test
    const { db, objects, registry } = f;
    return startLoop({ config, db, objects, registry, tracker: registry.tracker, logger: silentLogger, cacheDir: join(f.home, 'cache') }, queue, {
      runsJobs: true,
      startTriggers: false,
    });
  }
  const register = async () =>
    (await f.registry.register({ runId: await finishedRunWithModel(f.registry.tracker, { datasetVersion: f.valVersion }), name: 'cxr-oct', by: 'retrain' }))
      .version;

  it('profiles what the process registers while the loop runs', async () => {
    const loop = await loopWith(true);
    const v1 = await register();
    expect(await loadProfileComputation(f.registry, 'cxr-oct', v1)).toMatchObject({ state: 'stored', datasetVersion: f.valVersion });
    await loop.close();
    expect(await loadProfileComputation(f.registry, 'cxr-oct', await register())).toBeNull();
  });

  it('profiles nothing with drift.profileOnRegister off', async () => {
    const loop = await loopWith(false);
    expect(await loadProfileComputation(f.registry, 'cxr-oct', await register())).toBeNull();
    await loop.close();
  });

  it('a scheduled check that detects drift enqueues a retrain through the alarm (retrain.onDrift)', async () => {
    const clock = manualClock('2026-12-01T10:00:00.000Z');
    const config = loadConfig({ env: { SECONDREAD_HOME: f.home }, overrides: { retrain: { onDrift: true, model: f.model } } });
    const queue = createInProcessQueue({ db: f.db, logger: silentLogger }); // not started: the job stays queued
    const { db, objects, registry } = f;
    await computeProfile({ db, objects, registry, logger: silentLogger }, await registry.resolve(f.model), { datasetVersion: f.valVersion });
    const drift = new DriftService({ db, registry, logger: silentLogger, clock });
    const loop = await startLoop({ config, db, objects, registry, tracker: registry.tracker, logger: silentLogger, cacheDir: join(f.home, 'cache') }, queue, {
      runsJobs: true,
      startTriggers: true,
      driftAlarms: drift.alarms,
    });
    try {
      // 30 reads far brighter than the validation split, as the workflow records them.
      for (let i = 0; i < 30; i++) {
        clock.advance(1_000);
        await recordObservation(db, {
          studyId: null,
          model: f.model,
          version: 1,
          modality: 'oct',
          topClass: 'oct-cnv',
          topProbability: 0.99,
          image: { mean: 240, std: 0, width: BRIGHTNESS_SIZE, height: BRIGHTNESS_SIZE },
          embedding: null,
          at: clock.now().toISOString(),
        });
      }
      const scheduler = new DriftScheduler(
        { db, registry, check: (r) => drift.check(r), logger: silentLogger, clock },
        { intervalSeconds: 60, window: { kind: 'count', size: 30 }, modality: 'all', alpha: 0.05, minNewReads: 20 },
      );
      const [outcome] = await scheduler.tick();
      expect(outcome).toMatchObject({ outcome: 'checked', check: { detected: true } });
      const jobs = await listJobsOfKind(db, RETRAIN_JOB);
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toMatchObject({ status: 'queued', createdBy: 'drift', payload: { model: f.model, trigger: { kind: 'drift' } } });
    } finally {
      await loop.close();
      await queue.close();
    }
  });
});
