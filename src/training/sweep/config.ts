// A sweep file (`secondread sweep --config sweep.yaml`): training options every trial shares, the options that vary
// (a list of values, or a range sampled at random), and how trials are drawn — the full grid, or N random draws
// from a seed. Expanding it is pure and deterministic, and every trial's options are validated by the trainer's own
// schema before a single job is queued, so a typo fails in a second instead of after the first trial's hour.
import { readFileSync } from 'node:fs';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { ValidationError } from '../../core/errors.js';
import { Rng, subSeed } from '../../core/rng.js';
import { parseTrainOptions, type TrainOptions, trainOptionsSchema } from '../options.js';

/** More trials than this is a mistake in the file (a grid over too many lists), not a plan. */
export const MAX_TRIALS = 500;

const scalar = z.union([z.number().finite(), z.string().min(1), z.boolean()]);

const valuesParam = z.object({ values: z.array(z.union([scalar, z.array(z.number().int())])).min(1) }).strict();
const rangeParam = z
  .object({
    min: z.number().finite(),
    max: z.number().finite(),
    /** `log`: uniform in log space (learning rates, weight decay); needs min > 0. */
    scale: z.enum(['linear', 'log']).default('linear'),
    /** Round draws to integers (epochs, batch sizes). */
    integer: z.boolean().default(false),
  })
  .strict()
  .refine((r) => r.max >= r.min, { message: 'max must be ≥ min' })
  .refine((r) => r.scale !== 'log' || r.min > 0, { message: 'a log scale needs min > 0' });

export type SweepParameter = z.infer<typeof valuesParam> | z.infer<typeof rangeParam>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const sweepFileSchema = z
  .object({
    /** The sweep's name: trials are runs named `<name>-<n>` in the experiment `sweep-<name>` (unless `experiment`). */
    name: z.string().regex(NAME, 'letters, digits, . _ - (at most 64)'),
    experiment: z.string().regex(NAME, 'letters, digits, . _ - (at most 64)').optional(),
    method: z.enum(['grid', 'random']).default('grid'),
    /** Random sweeps: how many draws. */
    trials: z.number().int().positive().max(MAX_TRIALS).optional(),
    /** Random sweeps: the seed of the draws (the trials' own training seed is the `seed` option). */
    seed: z.number().int().nonnegative().default(1),
    /** Options every trial shares (the trainer's options, as in `secondread train`, camelCase or kebab-case). */
    base: z.record(z.string(), z.unknown()).default({}),
    parameters: z.record(z.string(), z.union([valuesParam, rangeParam])),
    /** The run-summary figure trials are ranked by (chosen on validation data, not on test). */
    metric: z
      .string()
      .regex(/^[a-z_]+$/)
      .default('val_accuracy'),
    /** `max` (accuracy, F1, AUC) or `min` (ECE, loss). */
    goal: z.enum(['max', 'min']).default('max'),
  })
  .strict();

export type SweepFile = z.infer<typeof sweepFileSchema>;

export interface SweepTrial {
  /** 1-based, in the order the trials are queued. */
  index: number;
  /** Only the varied options, as the tables show them. */
  varied: Record<string, unknown>;
  /** The complete, validated options the trainer gets. */
  options: TrainOptions;
}

export interface SweepPlan {
  name: string;
  experiment: string;
  method: 'grid' | 'random';
  metric: string;
  goal: 'max' | 'min';
  trials: SweepTrial[];
}

const OPTION_KEYS = new Set(Object.keys(trainOptionsSchema.shape));
/** Options a sweep sets itself or that make no sense per trial. */
const RESERVED = new Set(['experiment', 'name']);

/** `weight-decay` and `weightDecay` both name the option `weightDecay`. */
function optionKey(key: string, where: string): string {
  const camel = key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  if (!OPTION_KEYS.has(camel)) throw new ValidationError(`${where}: '${key}' is not a training option (see secondread train --help)`);
  if (RESERVED.has(camel)) throw new ValidationError(`${where}: '${key}' is set by the sweep itself (trials are named after the sweep)`);
  return camel;
}

function issuesOf(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || 'sweep'}: ${i.message}`).join('; ');
}

/** Parses and checks a sweep file's contents (YAML or JSON). */
export function parseSweepFile(text: string, source = 'sweep file'): SweepFile {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ValidationError(`${source} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = sweepFileSchema.safeParse(raw);
  if (!r.success) throw new ValidationError(`${source}: ${issuesOf(r.error)}`, { issues: r.error.issues });
  const file = r.data;
  if (Object.keys(file.parameters).length === 0) throw new ValidationError(`${source}: parameters: name at least one option to vary`);
  if (file.method === 'grid') {
    if (file.trials !== undefined) throw new ValidationError(`${source}: trials: a grid runs every combination; 'trials' is for method: random`);
    for (const [k, p] of Object.entries(file.parameters))
      if (!('values' in p)) throw new ValidationError(`${source}: parameters.${k}: a grid needs a list of values (ranges are for method: random)`);
  } else if (file.trials === undefined) {
    throw new ValidationError(`${source}: trials: a random sweep needs the number of draws`);
  }
  return file;
}

export function readSweepFile(path: string): SweepFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ValidationError(`cannot read sweep file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseSweepFile(text, path);
}

function draw(p: SweepParameter, rng: Rng): unknown {
  if ('values' in p) return p.values[Math.min(p.values.length - 1, Math.floor(rng.next() * p.values.length))];
  const u = rng.next();
  const v = p.scale === 'log' ? Math.exp(Math.log(p.min) + u * (Math.log(p.max) - Math.log(p.min))) : p.min + u * (p.max - p.min);
  // Keep draws readable in tables and run params: integers, or 4 significant digits.
  return p.integer ? Math.round(v) : Number(v.toPrecision(4));
}

function* grid(params: [string, SweepParameter][]): Generator<Record<string, unknown>> {
  if (params.length === 0) {
    yield {};
    return;
  }
  const [[key, p], ...rest] = params as [[string, SweepParameter], ...[string, SweepParameter][]];
  const values = 'values' in p ? p.values : [];
  for (const v of values) for (const tail of grid(rest)) yield { [key]: v, ...tail };
}

/** The trials of a sweep, in queue order, each with its complete validated training options. */
export function planSweep(file: SweepFile): SweepPlan {
  const base: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(file.base)) base[optionKey(k, 'base')] = v;
  const params = Object.entries(file.parameters).map(([k, p]) => [optionKey(k, 'parameters'), p] as [string, SweepParameter]);
  for (const [k] of params) if (k in base) throw new ValidationError(`'${k}' is both in base and in parameters: keep it in one place`);

  const combos: Record<string, unknown>[] = [];
  if (file.method === 'grid') {
    const count = params.reduce((n, [, p]) => n * ('values' in p ? p.values.length : 1), 1);
    if (count > MAX_TRIALS) throw new ValidationError(`the grid has ${count} combinations (at most ${MAX_TRIALS}): use method: random with trials`);
    for (const c of grid(params)) combos.push(c);
  } else {
    for (let i = 0; i < (file.trials ?? 0); i++) {
      const rng = new Rng(subSeed(file.seed, file.name, i));
      combos.push(Object.fromEntries(params.map(([k, p]) => [k, draw(p, rng)])));
    }
  }
  const experiment = file.experiment ?? `sweep-${file.name}`;
  const trials = combos.map((varied, i): SweepTrial => {
    const index = i + 1;
    try {
      return { index, varied, options: parseTrainOptions({ ...base, ...varied, experiment, name: `${file.name}-${index}` }) };
    } catch (err) {
      throw new ValidationError(`trial ${index} (${JSON.stringify(varied)}): ${(err as Error).message}`);
    }
  });
  return { name: file.name, experiment, method: file.method, metric: file.metric, goal: file.goal, trials };
}
