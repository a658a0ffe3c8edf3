// The demo bootstrap at tiny sizes (40 px phantoms, cnn-tiny at 32 px for 2 epochs: the demo model's family): every step runs once on
// an empty store and the marker comes last; a complete demo runs nothing again; an interruption (a failure
// between steps, Ctrl-C during training) is finished by the next call, reusing what was done (the training run
// resumed, not restarted; the passwords kept); a store holding other data gets no demo.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { type Db, migrateToLatest, openDatabase } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import { openObjectStore } from '../storage/open-object-store.js';
import { ModelRegistry, Tracker } from '../tracking/index.js';
import { applyRecipe, parseTrainOptions } from '../training/options.js';
import { PolicyStore } from '../workflow/policies.js';
import { UserStore } from '../workflow/users.js';
import { DEMO_STEPS, ensureDemo, type StepEvent } from './bootstrap.js';
import type { DemoDeps } from './context.js';
import { DEMO_USERS, parseCredentials } from './credentials.js';
import { DEMO_EXPERIMENT, DEMO_MODEL, type DemoOptionsInput, parseDemoOptions } from './options.js';
import { demoPaths } from './state.js';
import { demoTrainOptions } from './steps/train.js';

const TINY: DemoOptionsInput = {
  perClass: 16,
  cxrSize: 40,
  octWidth: 40,
  octHeight: 38,
  model: 'cnn-tiny',
  size: 32,
  epochs: 2,
  batchSize: 8,
  studiesPerClass: 2,
  readPerClass: 1,
};
const CHEAP = { N: 1024, r: 8, p: 1 };
const STEP_NAMES = DEMO_STEPS.map((s) => s.name);

interface Home {
  home: string;
  deps: DemoDeps;
  db: Db;
  objects: ObjectStore;
}
const opened: { dir: string; db: Db; objects: ObjectStore }[] = [];

async function openHome(): Promise<Home> {
  const dir = await mkdtemp(join(tmpdir(), 'sr-demo-'));
  const home = join(dir, 'home');
  const config = loadConfig({ env: { SECONDREAD_HOME: home } });
  const db = openDatabase(config.database);
  await migrateToLatest(db);
  const objects = openObjectStore(config.objectStore);
  opened.push({ dir, db, objects });
  return { home, db, objects, deps: { config, db, objects, logger: silentLogger, scrypt: CHEAP } };
}

afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.objects.close();
    await o.db.destroy();
    await rm(o.dir, { recursive: true, force: true });
  }
});

/** Runs the bootstrap, recording each finished step's outcome; `stopAfter` fails the call right after that step. */
async function bootstrap(h: Home, o: { stopAfter?: string; signal?: AbortSignal; onStart?: (name: string) => void } = {}) {
  const ended: Record<string, string> = {};
  const onStep = (e: StepEvent) => {
    if (e.kind === 'start') return o.onStart?.(e.name);
    ended[e.name] = e.outcome;
    if (e.name === o.stopAfter) throw new Error(`simulated crash after ${e.name}`);
  };
  const deps = o.signal ? { ...h.deps, signal: o.signal } : h.deps;
  try {
    return { outcome: await ensureDemo(deps, { options: TINY, onStep }), ended };
  } catch (err) {
    return { error: err as Error, ended };
  }
}

const demoRuns = (h: Home) => new Tracker(h.db, h.objects).listRuns({ experiment: DEMO_EXPERIMENT });

describe('ensureDemo', () => {
  it('bootstraps an empty store with every step once, writes the marker last, and runs nothing on the next call', async () => {
    const h = await openHome();
    const paths = demoPaths(h.home);
    const first = await bootstrap(h);
    expect(first.error).toBeUndefined();
    expect(first.ended).toEqual(Object.fromEntries(STEP_NAMES.map((n) => [n, 'ran'])));
    expect(first.outcome?.status).toBe('created');
    if (first.outcome?.status !== 'created') return;
    const s = first.outcome.summary;
    expect(existsSync(paths.marker)).toBe(true);
    expect(existsSync(join(paths.raw, 'OCT2017.tar.gz'))).toBe(true);

    // The model: a finished run, registered, in production; its test accuracy is the run's own figure.
    const runs = await demoRuns(h);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('finished');
    expect(s.model.test?.accuracy).toBe(runs[0]!.summary?.test_accuracy);
    expect(s.model).toMatchObject({ architecture: 'cnn-tiny', inputSize: 32, epochs: 2 });
    const registry = new ModelRegistry(h.db, h.objects, new Tracker(h.db, h.objects));
    expect((await registry.aliases(DEMO_MODEL)).production).toBe(s.model.version);
    const policy = await new PolicyStore(h.db).inForce(DEMO_MODEL, s.model.version);
    expect(policy?.id).toBe(s.policy.id);

    // Users: the printed passwords are the file's (owner-only) and log in.
    expect((await stat(paths.credentials)).mode & 0o777).toBe(0o600);
    const recorded = parseCredentials(await readFile(paths.credentials, 'utf8'));
    expect(recorded).toEqual(first.outcome.credentials);
    expect(recorded.map((c) => [c.name, c.role])).toEqual(DEMO_USERS.map((u) => [u.name, u.role]));
    const users = new UserStore(h.db, { scrypt: CHEAP });
    for (const c of recorded) expect((await users.login(c.name, c.password))?.user.role).toBe(c.role);

    // Studies: two per class that has final_eval images, one of each read by reader A; the rest wait in worklist A.
    const studies = await h.db.selectFrom('studies').select(['status', 'truth_class']).execute();
    expect(studies.length).toBe(s.studies.total);
    expect(s.studies.total).toBeGreaterThanOrEqual(9);
    expect(studies.filter((x) => x.status === 'awaiting_a').length).toBe(s.studies.total - s.studies.readA);
    expect(studies.every((x) => x.truth_class !== null)).toBe(true);

    // Complete: nothing runs, nothing is added.
    const second = await bootstrap(h);
    expect(second.ended).toEqual({});
    expect(second.outcome).toEqual({ status: 'present', summary: s });
    expect(await demoRuns(h)).toHaveLength(1);
    expect((await h.db.selectFrom('studies').select('id').execute()).length).toBe(s.studies.total);
  }, 300_000);

  it('finishes an interrupted bootstrap: the killed run is resumed, finished steps are reused, passwords kept', async () => {
    const h = await openHome();
    const paths = demoPaths(h.home);

    // Ctrl-C while training: the run checkpoints and is marked killed; no marker.
    const abort = new AbortController();
    const first = await bootstrap(h, { signal: abort.signal, onStart: (name) => name === 'train' && abort.abort() });
    expect(first.error?.message).toMatch(/training interrupted/);
    expect(Object.keys(first.ended)).toEqual(['synth', 'build']);
    expect((await demoRuns(h)).map((r) => r.status)).toEqual(['killed']);
    expect(existsSync(paths.marker)).toBe(false);

    // A crash right after the users step.
    const second = await bootstrap(h, { stopAfter: 'users' });
    expect(second.error?.message).toMatch(/simulated crash/);
    expect(second.ended).toEqual({ synth: 'reused', build: 'reused', train: 'ran', register: 'ran', promote: 'ran', policy: 'ran', users: 'ran' });
    const runs = await demoRuns(h);
    expect(runs.map((r) => r.status)).toEqual(['finished']);
    expect(existsSync(paths.marker)).toBe(false);
    const credentials = await readFile(paths.credentials, 'utf8');

    const third = await bootstrap(h);
    expect(third.ended).toEqual({ ...Object.fromEntries(STEP_NAMES.map((n) => [n, 'reused'])), studies: 'ran' });
    expect(third.outcome?.status).toBe('created');
    expect(existsSync(paths.marker)).toBe(true);
    expect(await readFile(paths.credentials, 'utf8')).toBe(credentials);
    expect(third.outcome?.status === 'created' && third.outcome.credentials).toEqual(parseCredentials(credentials));
    // The same run throughout: resumed, not started again.
    expect((await demoRuns(h)).map((r) => r.id)).toEqual(runs.map((r) => r.id));
    expect((await bootstrap(h)).outcome?.status).toBe('present');
  }, 300_000);

  it('leaves a store that holds other data alone', async () => {
    const h = await openHome();
    await new UserStore(h.db).addUser({ name: 'alice', role: 'admin' });
    const r = await bootstrap(h);
    expect(r.outcome).toEqual({ status: 'skipped', reason: 'the store already holds data (1 users)' });
    expect(r.ended).toEqual({});
    expect(existsSync(demoPaths(h.home).dir)).toBe(false);
  });
});

describe('parseDemoOptions', () => {
  it('takes any model preset, ViT or CNN, and refuses other names', () => {
    expect(parseDemoOptions({ model: 'cnn-small', size: 64 })).toMatchObject({ model: 'cnn-small', size: 64 });
    expect(parseDemoOptions({ model: 'vit-tiny' }).model).toBe('vit-tiny');
    expect(() => parseDemoOptions({ model: 'resnet-50' })).toThrow(/invalid demo options: model/);
  });
});

describe('demoTrainOptions', () => {
  it("trains cnn-small at 32×32 for 3 minutes with the model's own recipe by default", () => {
    const o = demoTrainOptions(parseDemoOptions({}), 'ds-x');
    expect(o).toMatchObject({ dataset: 'ds-x', model: 'cnn-small', size: 32, timeBudget: 3, epochs: 30, patience: 0, experiment: DEMO_EXPERIMENT });
    // batch, rate, warm-up, dropout, augmentation: left to MODEL_RECIPES['cnn-small'] (applied by the planner)
    for (const k of ['batchSize', 'lr', 'warmupEpochs', 'dropout', 'labelSmoothing', 'cropMinScale']) expect(o).not.toHaveProperty(k);
    const resolved = applyRecipe(parseTrainOptions(o), 'cnn-small', { architecture: true });
    expect(resolved).toMatchObject({ batchSize: 64, lr: 2e-3, warmupEpochs: 2, labelSmoothing: 0.05, sharpShare: 0.3 });
  });

  it("keeps the demo's measured vit-tiny recipe for vit-tiny, and explicit batch and rate win", () => {
    expect(demoTrainOptions(parseDemoOptions({ model: 'vit-tiny' }), 'ds-x')).toMatchObject({ batchSize: 32, lr: 5e-3, warmupEpochs: 1, dropout: 0 });
    expect(demoTrainOptions(parseDemoOptions({ model: 'vit-tiny', lr: 1e-3, batchSize: 16 }), 'ds-x')).toMatchObject({ batchSize: 16, lr: 1e-3 });
    expect(demoTrainOptions(parseDemoOptions({ lr: 1e-3 }), 'ds-x')).toMatchObject({ model: 'cnn-small', lr: 1e-3 });
  });
});
