// `secondread retrain` and `secondread data feedback` from the command line, in a home holding a tiny trained
// production model and no finalized studies: the job runs in this process and says why nothing was trained.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelRegistry } from '../../tracking/index.js';
import { startTraining } from '../../training/index.js';
import { openTrainingFixture, type TrainingFixture } from '../../training/testing.js';
import { runCli, setEnv } from '../testing.js';

let fx: TrainingFixture;
let restore: () => void;

beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 6, imageSize: 40 });
  const trained = await startTraining(
    { db: fx.db, objects: fx.objects, tracker: fx.tracker, cacheDir: fx.cacheDir },
    { model: 'vit-tiny', epochs: 1, batchSize: 16, workers: 0, dataset: fx.versionId },
  );
  const registry = new ModelRegistry(fx.db, fx.objects, fx.tracker);
  await registry.register({ runId: trained.run.id, name: 'tiny', by: 'test' });
  await registry.setAlias('tiny', 'production', 1, { by: 'test', reason: 'fixture' });
  restore = setEnv({ SECONDREAD_HOME: fx.home, LOG_LEVEL: 'silent', REDIS_URL: undefined });
}, 120_000);
afterAll(async () => {
  restore?.();
  await fx?.close();
});

describe('secondread retrain / data feedback', () => {
  it('runs the retrain job in this process; with no finalized studies it is skipped, and data feedback has nothing to build', async () => {
    const r = await runCli('retrain', '--epochs', '1');
    expect(r.err).toMatch(/retrain job job_\S+ \(tiny, running here\)/);
    expect(r).toMatchObject({ code: 0, out: expect.stringMatching(/^retrain skipped \(manual\): no new labelled images: 0 finalized studies/) });
    expect(await runCli('data', 'feedback', '--base', fx.versionId.slice(0, 8))).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^nothing to build: no new labelled images/),
    });
    const json = JSON.parse((await runCli('data', 'feedback', '--json')).out) as { version: null; details: { studies: number } };
    expect(json).toMatchObject({ version: null, details: { studies: 0 } });
  }, 60_000);

  it('refuses an unknown model, bad flags and a bad --since', async () => {
    expect((await runCli('retrain', '--model', 'nope')).code).not.toBe(0);
    expect(await runCli('retrain', '--epochs', '0')).toMatchObject({ code: 2, err: expect.stringMatching(/--epochs must be a positive integer/) });
    expect(await runCli('data', 'feedback', '--since', 'last tuesday')).toMatchObject({ code: 2, err: expect.stringMatching(/since must be a date/) });
  }, 60_000);
});
