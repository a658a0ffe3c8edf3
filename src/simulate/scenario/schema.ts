// A scenario script (`secondread simulate --scenario <file.yaml>`, docs/simulate.md "Scenarios"): the data, the
// first production model, the simulated readers, the change protocol and the settings of each phase the
// scenario runs in order (scenario/run.ts). Validated with zod; every mistake is a ValidationError naming its
// YAML path, the change protocol's included (`protocol.criteria.accuracy.margin: …`).
import { readFile } from 'node:fs/promises';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { ValidationError } from '../../core/errors.js';
import { CXR_SCANNERS, OCT_SCANNERS, SYNTH_DATASETS } from '../../data/synth/index.js';
import { MODEL_NAMES } from '../../models/index.js';
import { MODALITIES } from '../../monitoring/drift/types.js';
import { EVALUATION_SPLITS } from '../../monitoring/evaluations/run.js';
import { type ChangeProtocol, type LoadedProtocol, validateProtocol } from '../../rollout/index.js';
import { CONFUSION_PATTERNS } from '../../workflow/simulated-reader.js';

export const SCENARIO_SCHEMA = 'secondread.scenario/1';

const fraction = z.number().min(0).max(1);
const count = z.number().int().min(1);
const split = z.enum(EVALUATION_SPLITS as [string, ...string[]], { error: () => `must be one of ${EVALUATION_SPLITS.join(', ')}` });
/** Training options handed to the trainer (it validates them: docs/training.md); what to start from is the scenario's. */
const trainOptions = z
  .record(z.string(), z.unknown())
  .refine((o) => !['model', 'dataset', 'fromModel', 'resume'].some((k) => k in o), {
    message: 'model, dataset, fromModel and resume are chosen by the scenario',
  })
  .default({});

/** A synthetic phantom set (`data synth` + `data build` with examples/datasets.yaml). */
const synthData = z
  .object({
    perClass: count.max(2000),
    /** Side of the CXR phantoms (OCT: side × side − 2; `data synth` renders at least 32 px). */
    imageSize: z.number().int().min(34).max(1024),
    seed: z.number().int().min(0).default(1),
    labelNoise: fraction.default(0),
    /** Acquisition shift: every CXR (OCT) rendered with this scanner style. */
    cxrScanner: z.enum(CXR_SCANNERS).optional(),
    octScanner: z.enum(OCT_SCANNERS).optional(),
    /** Which public datasets' phantoms (class and modality mix); default all. */
    datasets: z.array(z.enum(SYNTH_DATASETS)).min(1).optional(),
  })
  .strict();

const reader = z.object({ accuracy: fraction, confusion: z.enum(CONFUSION_PATTERNS).default('miss'), seed: z.number().int().min(0).default(1) }).strict();

/** A stream of studies through the HTTP API, continuing through the split where the phase before stopped. */
/**
 * A stream of studies from one split. `rate` (studies started per second) paces it: a canary stream must last long
 * enough for the rollout gate (every `gate.everySeconds`) and serving's alias poll to see each step's samples — an
 * unpaced stream on a fast, idle machine ended before the gate had stepped past 25% (the canary "still active").
 */
const stream = z.object({ split, maxStudies: count, rate: z.number().positive().max(1000).optional() }).strict();

const scenarioSchema = z
  .object({
    schema: z.literal(SCENARIO_SCHEMA, { error: () => `must be '${SCENARIO_SCHEMA}'` }),
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be lowercase letters, digits, dots, dashes, underscores'),
    description: z.string().max(4000).optional(),
    model: z
      .object({
        /** Registered model name; it must not exist yet (run a scenario in a fresh home). */
        name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be lowercase letters, digits, dots, dashes, underscores'),
        preset: z.enum(MODEL_NAMES),
        /** Training of production v1 on the baseline set. */
        train: trainOptions,
      })
      .strict(),
    data: z.object({ baseline: synthData, shifted: synthData }).strict(),
    readers: z.object({ a: reader, b: reader }).strict(),
    /** Studies in flight at once in every stream (rate: as fast as that allows). */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** How often the server's rollout gate judges the active canary, and serving picks up alias moves. */
    gate: z
      .object({ everySeconds: z.number().min(0.2).max(60).default(1), aliasPollSeconds: z.number().min(0.1).max(60).default(0.5) })
      .strict()
      .default({
        everySeconds: 1,
        aliasPollSeconds: 0.5,
      }),
    phases: z
      .object({
        /** (1) the unshifted set's split replayed; one drift check at its end (expected: no alarm). */
        baseline: z.object({ split, maxStudies: count }).strict(),
        /** (2) the shifted set replayed, a drift check every `checkEvery` studies over the last `window` reads, until the alarm. */
        shifted: z
          .object({
            split,
            maxStudies: count,
            checkEvery: count,
            window: z.number().int().min(20).max(100_000),
            modality: z.enum([...MODALITIES, 'all']).default('all'),
            alpha: z.number().gt(0).lt(1).default(0.05),
          })
          .strict(),
        /** (3)+(4) the drift trigger's retrain job: feedback dataset, training, the protocol, the canary's first step. */
        retrain: z
          .object({
            includeAutoFinalized: z.boolean().default(true),
            train: trainOptions,
            timeoutSeconds: z.number().int().min(10).max(86_400).default(1800),
          })
          .strict(),
        /** (6) the stream continues through the shifted set's `split` while the gate steps the canary. */
        canary: stream,
        /** (7) a candidate trained from scratch (model.train, these overrides) on the feedback dataset with misaligned labels (corrupt-labels.ts). */
        badCandidate: z.object({ train: trainOptions }).strict(),
        /** (8) the bad candidate forced past evaluation by a declared permissive protocol, then canaried. */
        degradingCanary: stream,
      })
      .strict(),
    /** The change protocol of the scenario (secondread.change-protocol/1; docs/rollout.md). */
    protocol: z.unknown(),
    /**
     * The criteria of the explicit forced-pass step (8): a protocol named `<protocol.name>-forced` with these
     * criteria and the protocol's canary section — stated in the scenario, recorded in the report and the audit.
     */
    forcedCriteria: z.unknown(),
  })
  .strict();

export type ScenarioDocument = z.infer<typeof scenarioSchema>;
export type SyntheticData = z.infer<typeof synthData>;
export type StreamPhase = z.infer<typeof stream>;

export interface Scenario {
  document: ScenarioDocument;
  protocol: LoadedProtocol;
  forcedProtocol: LoadedProtocol;
  /** The file it was read from (null: parsed from text). */
  source: string | null;
}

function issuesOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${i.message}`);
}

/** A protocol part validated by the protocol's own schema, its issues named under `at`. */
function protocolAt(raw: unknown, at: string): LoadedProtocol {
  try {
    return validateProtocol(raw);
  } catch (err) {
    const issues = (err as ValidationError).details?.issues;
    if (!Array.isArray(issues)) throw err;
    throw new ValidationError(`invalid scenario: ${issues.map((i) => `${at}.${String(i)}`).join('; ')}`, { issues: issues.map((i) => `${at}.${String(i)}`) });
  }
}

export function validateScenario(raw: unknown, source: string | null = null): Scenario {
  const r = scenarioSchema.safeParse(raw);
  if (!r.success) {
    const issues = issuesOf(r.error, '');
    throw new ValidationError(`invalid scenario${source ? ` '${source}'` : ''}: ${issues.join('; ')}`, { issues });
  }
  const doc = r.data;
  if (doc.protocol === undefined) throw new ValidationError('invalid scenario: protocol: required (the change protocol, docs/rollout.md)');
  if (doc.forcedCriteria === undefined) throw new ValidationError('invalid scenario: forcedCriteria: required (the criteria of the forced-pass step)');
  const protocol = protocolAt(doc.protocol, 'protocol');
  if (protocol.protocol.evaluation.dataset !== undefined)
    throw new ValidationError(
      "invalid scenario: protocol.evaluation.dataset: leave it out (the scenario's datasets are made by the run: production's is used)",
    );
  const forcedDoc: ChangeProtocol = {
    ...protocol.protocol,
    name: `${protocol.protocol.name}-forced`,
    criteria: doc.forcedCriteria as ChangeProtocol['criteria'],
  };
  // Issues of the forced criteria are named under forcedCriteria, not protocol.criteria.
  let forcedProtocol: LoadedProtocol;
  try {
    forcedProtocol = validateProtocol(forcedDoc);
  } catch (err) {
    const issues = ((err as ValidationError).details?.issues as unknown[] | undefined)?.map((i) => String(i).replace(/^criteria/, 'forcedCriteria')) ?? [];
    throw new ValidationError(`invalid scenario: ${issues.join('; ')}`, { issues });
  }
  const { phases } = doc;
  if (phases.shifted.checkEvery > phases.shifted.maxStudies)
    throw new ValidationError('invalid scenario: phases.shifted.checkEvery: larger than phases.shifted.maxStudies (no check would run)');
  return { document: doc, protocol, forcedProtocol, source };
}

export function parseScenario(text: string, source: string | null = null): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new ValidationError(`scenario${source ? ` '${source}'` : ''} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateScenario(raw, source);
}

const MAX_SCENARIO_BYTES = 256 * 1024;

export async function readScenarioFile(path: string): Promise<Scenario> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ValidationError(`cannot read scenario '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (bytes.length > MAX_SCENARIO_BYTES) throw new ValidationError(`scenario '${path}' is larger than ${MAX_SCENARIO_BYTES / 1024} KiB`);
  return parseScenario(bytes.toString('utf8'), path);
}
