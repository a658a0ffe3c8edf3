// The demo bootstrap of `npm start`: on an empty store, synthesize a small dataset, build it, train a small
// model, register it, promote it to production, fit its policy, create the demo users and a few demo studies.
//
// Every step is idempotent: it finds its result in the store or makes it. A bootstrap records its options in
// demo/bootstrap.json when it starts and writes the marker demo/complete.json last, so:
//   - marker present (and its model still registered): the demo is complete, nothing runs (a start in seconds);
//   - state file present, no marker: a bootstrap was interrupted; all steps run again, the finished ones only
//     find their results, the unfinished one resumes (training from its checkpoint) or restarts;
//   - neither, store empty: a new bootstrap; store not empty (someone's own data): no demo, nothing touched.
import { mkdir, rm } from 'node:fs/promises';

import { z } from 'zod';

import { NotFoundError } from '../core/errors.js';
import type { Db } from '../storage/db.js';
import {
  type DemoContext,
  demoContext,
  type DemoDeps,
  type DemoModelFigures,
  type DemoOutputs,
  type DemoPolicyFigures,
  type DemoStudyFigures,
  need,
  type StepResult,
} from './context.js';
import type { DemoCredential } from './credentials.js';
import { DEMO_MODEL, type DemoOptions, type DemoOptionsInput, demoOptionsSchema, parseDemoOptions } from './options.js';
import { acquireLock, demoPaths, readJsonFile, storeIdentity, writeFileAtomic } from './state.js';
import { datasetStep } from './steps/dataset.js';
import { promoteStep, registerStep } from './steps/model.js';
import { policyStep } from './steps/policy.js';
import { studiesStep } from './steps/studies.js';
import { synthStep } from './steps/synth.js';
import { trainStep } from './steps/train.js';
import { usersStep } from './steps/users.js';

export interface DemoStep {
  name: string;
  title: string;
  run(c: DemoContext): Promise<StepResult>;
}

export const DEMO_STEPS: readonly DemoStep[] = [
  { name: 'synth', title: 'synthesize phantom archives', run: synthStep },
  { name: 'build', title: 'build and validate the dataset version', run: datasetStep },
  { name: 'train', title: 'train the demo model', run: trainStep },
  { name: 'register', title: 'register the model', run: registerStep },
  { name: 'promote', title: 'promote it to production', run: promoteStep },
  { name: 'policy', title: 'fit the decision policy', run: policyStep },
  { name: 'users', title: 'create the demo users', run: usersStep },
  { name: 'studies', title: 'take in demo studies', run: studiesStep },
];

export interface StepRecord {
  name: string;
  outcome: StepResult['outcome'];
  detail: string;
  seconds: number;
}

export type StepEvent = ({ kind: 'start' } | ({ kind: 'end' } & StepRecord)) & { name: string; title: string; index: number; total: number };

/** What the marker holds: enough for later starts to say what the demo is without asking every store. */
export interface DemoSummary {
  format: 1;
  store: string;
  completedAt: string;
  options: DemoOptions;
  datasetVersion: string;
  images: NonNullable<DemoOutputs['images']>;
  runId: string;
  model: DemoModelFigures;
  policy: DemoPolicyFigures;
  users: { name: string; role: string }[];
  credentialsFile: string;
  studies: DemoStudyFigures;
  /** The run that completed the demo (steps found done show as `reused`). */
  steps: StepRecord[];
}

export type DemoOutcome =
  | { status: 'created'; summary: DemoSummary; credentials: DemoCredential[] }
  | { status: 'present'; summary: DemoSummary }
  | { status: 'skipped'; reason: string };

export interface EnsureDemoOptions {
  /** Options of a new bootstrap (an interrupted one continues with the options it started with). */
  options?: DemoOptionsInput;
  onStep?: (e: StepEvent) => void;
}

const stateSchema = z.object({ store: z.string(), startedAt: z.string(), options: demoOptionsSchema });

/** Rows that say the store is someone's: any dataset version, run, model, user or study. */
async function storeContents(db: Db): Promise<string[]> {
  const tables = ['dataset_versions', 'runs', 'registered_models', 'users', 'studies'] as const;
  const held: string[] = [];
  for (const t of tables) {
    const row = await db
      .selectFrom(t)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    const n = Number(row?.n ?? 0);
    if (n > 0) held.push(`${n} ${t.replace('_', ' ')}`);
  }
  return held;
}

/** The marker, if it was written for this store and its model version is still the production one. */
async function completeDemo(deps: DemoDeps, path: string, store: string): Promise<DemoSummary | undefined> {
  const summary = (await readJsonFile(path)) as DemoSummary | undefined;
  if (summary?.format !== 1 || summary.store !== store || !summary.model) return undefined;
  const c = demoContext(deps, summary.options);
  try {
    const aliases = await c.registry.aliases(DEMO_MODEL);
    return aliases.production === summary.model.version ? summary : undefined;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/**
 * Makes sure the demo exists: does nothing when it is complete or when the store holds other data, continues
 * an interrupted bootstrap, or bootstraps a new one. Throws when a step fails or the signal aborts (the next
 * call continues from there).
 */
export async function ensureDemo(deps: DemoDeps, o: EnsureDemoOptions = {}): Promise<DemoOutcome> {
  const paths = demoPaths(deps.config.home);
  const store = storeIdentity(deps.config);
  const complete = await completeDemo(deps, paths.marker, store);
  if (complete) return { status: 'present', summary: complete };

  const parsed = stateSchema.safeParse(await readJsonFile(paths.state));
  const resumed = parsed.success && parsed.data.store === store ? parsed.data : undefined;
  if (!resumed) {
    const held = await storeContents(deps.db);
    if (held.length > 0) return { status: 'skipped', reason: `the store already holds data (${held.join(', ')})` };
  }

  await mkdir(paths.dir, { recursive: true });
  const release = await acquireLock(paths.lock);
  try {
    const options = resumed?.options ?? parseDemoOptions(o.options);
    // A marker that no longer holds (its model is gone) must not survive into a new bootstrap.
    await rm(paths.marker, { force: true });
    if (!resumed) await writeFileAtomic(paths.state, `${JSON.stringify({ store, startedAt: new Date().toISOString(), options }, null, 2)}\n`);
    const c = demoContext(deps, options);
    const steps: StepRecord[] = [];
    for (const [index, step] of DEMO_STEPS.entries()) {
      deps.signal?.throwIfAborted();
      const at = { name: step.name, title: step.title, index, total: DEMO_STEPS.length };
      o.onStep?.({ kind: 'start', ...at });
      const started = performance.now();
      const r = await step.run(c);
      const record: StepRecord = { name: step.name, outcome: r.outcome, detail: r.detail, seconds: (performance.now() - started) / 1000 };
      steps.push(record);
      o.onStep?.({ kind: 'end', ...at, ...record });
    }
    const out = c.out;
    const credentials = need(out.credentials, 'the demo users');
    const summary: DemoSummary = {
      format: 1,
      store,
      completedAt: new Date().toISOString(),
      options,
      datasetVersion: need(out.datasetVersion, 'the dataset version'),
      images: need(out.images, 'the image counts'),
      runId: need(out.runId, 'the training run'),
      model: need(out.model, 'the model'),
      policy: need(out.policy, 'the policy'),
      users: credentials.map((u) => ({ name: u.name, role: u.role })),
      credentialsFile: paths.credentials,
      studies: need(out.studies, 'the studies'),
      steps,
    };
    // Last: from here on a start finds the demo complete.
    await writeFileAtomic(paths.marker, `${JSON.stringify(summary, null, 2)}\n`);
    return { status: 'created', summary, credentials };
  } finally {
    await release();
  }
}
