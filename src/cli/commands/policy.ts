// `secondread policy …`: fit a second-reader policy's per-class thresholds on a validation split
// (docs/policy.md), list stored policies, show one. `fit` scores the split with the model version, has
// reader A (simulated, or recorded reads) read it, searches the thresholds, stores the policy and writes
// tradeoff.png, report.json and report.md.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import type { Command } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { isSecondreadClass, type SecondreadClass } from '../../data/classes.js';
import { renderTable } from '../../data/validate/table.js';
import { EVALUATION_SPLITS } from '../../monitoring/evaluations/run.js';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { parseModelRef } from '../../training/retrain.js';
import { type Policy, PolicyStore } from '../../workflow/policies.js';
import { DEFAULT_QA_FRACTION } from '../../workflow/policy.js';
import {
  DEFAULT_CONFIDENCE,
  DEFAULT_SEARCH_FRACTION,
  FIT_METHODS,
  type FitMethod,
  fitPolicy,
  type FitReader,
  parseRecordedReads,
} from '../../workflow/policy-fit.js';
import {
  CLASS_COLUMNS,
  classRows,
  fmtThreshold,
  guaranteeLines,
  pct,
  type PolicyFitReport,
  policyReportMarkdown,
  type ReaderDescription,
  renderPolicyChart,
} from '../../workflow/policy-report.js';
import { scoreSplit } from '../../workflow/score-split.js';
import { CONFUSION_PATTERNS, type ConfusionPattern, SimulatedReader } from '../../workflow/simulated-reader.js';
import { actor } from '../actor.js';
import { withContext } from '../context.js';
import { parseInteger, parseNumber } from '../parse.js';
import { createProgressRenderer } from '../progress.js';
import { print, printJson, when } from './runs.js';

const DEFAULT_READER_ACCURACY = 0.9;
const DEFAULT_MAX_FALSE_CLEAR = 0.005;
/** A reads file larger than this is not a department's reads of one split. */
const MAX_READS_BYTES = 64 * 1024 * 1024;

const FIT_HELP = `
What it does:
  1. Runs the model version over every image of the split (progress on stderr).
  2. Reader A reads each study: a simulated reader (--reader-accuracy, --confusion, --reader-seed; keyed by the
     image's sha256, so \`secondread simulate\` with the same settings sees the same reads), or recorded reads
     (--reader-a-reads reads.csv, lines "sha256,label"; studies without a read are left out and counted).
  3. For each class, every distinct top probability of the studies where A and the model agree on it is a
     candidate threshold (or none: never clear). The search over all classes together is exact and finds the
     thresholds that auto-finalize the most studies with false-clear rate <= --max-false-clear.
     --method ltt (default), Learn then Test: the split is cut in two by a hash of each study's key
     (--search-fraction, --split-seed); the search part builds the candidates and their order, the test part
     tests them in that order with exact binomial p-values until the first one it cannot certify. With
     probability >= --confidence the stored thresholds' false-clear rate is within the bound out of sample.
     A split too small for the bound certifies nothing, and the policy then clears nothing (the summary says
     how many clears it would take). --method empirical: the thresholds within the bound on the whole split,
     counted on the split that chose them (out of sample they exceed it most of the time: docs/policy.md, "Measured").
  4. Stores the policy as the next version for that model version (in force from now on; --dry-run: not
     stored) and writes tradeoff.png, report.json and report.md to --out.

Definitions (docs/workflow.md, docs/policy.md), before QA sampling:
  auto-finalized   A's label = model top class, top probability >= the class threshold, class not always double-read
  reduction        auto-finalized / studies
  false clear      an auto-finalized study whose label != truth
  false-clear rate false clears / auto-finalized (as secondread_false_clear_rate measures it in production)
  After QA sampling the expected reduction is reduction x (1 - qa fraction); the report shows both.

Examples:
  secondread policy fit --model cxr-oct@production --dataset ds-3f9a --split val
  secondread policy fit --model cxr-oct:3 --dataset ds-3f9a --reader-accuracy 0.85 --confusion uniform \\
      --max-false-clear 0.01 --always-double-read lung-tuberculosis --out reports/policy-v3
  secondread policy fit --model cxr-oct:3 --dataset ds-3f9a --reader-a-reads reads.csv --dry-run
  secondread policy fit --model cxr-oct:3 --dataset ds-3f9a --max-false-clear 0.01 --confidence 0.9
`;

interface FitFlags {
  model: string;
  dataset: string;
  split: string;
  readerAccuracy?: string;
  confusion?: string;
  readerClassAccuracy?: string;
  readerSeed?: string;
  readerAReads?: string;
  maxFalseClear: string;
  method: string;
  confidence: string;
  searchFraction: string;
  splitSeed: string;
  alwaysDoubleRead?: string;
  qaFraction: string;
  out?: string;
  dryRun?: boolean;
  batchSize: string;
  threads: string;
  by?: string;
  json?: boolean;
}

/** `a,b` → classes, each checked. */
function parseClassList(flag: string, v: string): SecondreadClass[] {
  const classes = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const c of classes) if (!isSecondreadClass(c)) throw new ValidationError(`${flag}: unknown class '${c.slice(0, 40)}'`);
  return classes as SecondreadClass[];
}

/** `class=0.7,class=0.8` → per-class accuracies. */
function parseClassAccuracy(v: string): Partial<Record<SecondreadClass, number>> {
  const out: Partial<Record<SecondreadClass, number>> = {};
  for (const part of v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const [cls, acc, extra] = part.split('=');
    if (cls === undefined || acc === undefined || extra !== undefined)
      throw new ValidationError(`--reader-class-accuracy: expected class=accuracy, got '${part.slice(0, 60)}'`);
    if (!isSecondreadClass(cls.trim())) throw new ValidationError(`--reader-class-accuracy: unknown class '${cls.trim().slice(0, 40)}'`);
    out[cls.trim() as SecondreadClass] = parseNumber(`--reader-class-accuracy for ${cls.trim()}`, acc.trim(), 0, 1);
  }
  return out;
}

async function recordedReader(path: string): Promise<{ reader: FitReader; description: ReaderDescription }> {
  let bytes: Buffer;
  try {
    if ((await stat(path)).size > MAX_READS_BYTES) throw new ValidationError(`reads file '${path}' is larger than ${MAX_READS_BYTES / 1024 / 1024} MiB`);
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`cannot read reads file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const reads = parseRecordedReads(bytes.toString('utf8'));
  return {
    reader: reads,
    description: { kind: 'recorded', file: basename(path), sha256: createHash('sha256').update(bytes).digest('hex'), reads: reads.size },
  };
}

/** Reader A from the flags: recorded reads, or a simulated reader (its settings checked before anything runs). */
async function readerFromFlags(o: FitFlags): Promise<{ reader: FitReader; description: ReaderDescription }> {
  if (o.readerAReads !== undefined) {
    const simulated = (['readerAccuracy', 'confusion', 'readerClassAccuracy', 'readerSeed'] as const).filter((k) => o[k] !== undefined);
    if (simulated.length)
      throw new ValidationError(
        `--reader-a-reads uses recorded reads: do not pass ${simulated.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`,
      );
    return recordedReader(o.readerAReads);
  }
  const accuracy = o.readerAccuracy === undefined ? DEFAULT_READER_ACCURACY : parseNumber('--reader-accuracy', o.readerAccuracy, 0, 1);
  const confusion = (o.confusion ?? 'miss') as ConfusionPattern;
  if (!CONFUSION_PATTERNS.includes(confusion))
    throw new ValidationError(`--confusion must be one of ${CONFUSION_PATTERNS.join(', ')}, got '${String(o.confusion).slice(0, 40)}'`);
  const seed = o.readerSeed === undefined ? 1 : parseInteger('--reader-seed', o.readerSeed, 0, 2 ** 31 - 1);
  const perClassAccuracy = o.readerClassAccuracy === undefined ? {} : parseClassAccuracy(o.readerClassAccuracy);
  return {
    reader: new SimulatedReader({ accuracy, confusion, seed, perClassAccuracy }),
    description: { kind: 'simulated', accuracy, confusion, seed, perClassAccuracy: perClassAccuracy as Record<string, number> },
  };
}

/** The report stored with a policy, when a fit made it (policies created otherwise carry what their creator gave). */
function fitReportOf(p: Policy): PolicyFitReport | null {
  const r = p.report as Partial<PolicyFitReport> | null;
  return r && r.kind === 'policy-fit' && r.fit ? (r as PolicyFitReport) : null;
}

function fitSummary(r: PolicyFitReport): string {
  const f = r.fit;
  const reader =
    r.readerA.kind === 'simulated'
      ? `simulated reader A (accuracy ${pct(r.readerA.accuracy, 1)}, ${r.readerA.confusion}, seed ${r.readerA.seed})`
      : `recorded reads (${r.readerA.file})`;
  return [
    `${r.model.name} v${r.model.version} on ${r.dataset.version} (${r.dataset.split}): ${f.studies} studies${f.unread ? ` (${f.unread} without a read left out)` : ''}, ${reader}`,
    `  reader A right ${pct(f.readerAccuracy, 1)}, model right ${pct(f.modelAccuracy, 1)}, A and model agree ${pct(f.agreements / f.studies, 1)}`,
    `  second-review reduction ${pct(f.reduction)} (${f.autoFinalized} of ${f.studies} auto-finalized); after ${pct(f.afterQa.qaFraction, 1)} QA sampling ${pct(f.afterQa.reduction)}`,
    `  false-clear rate ${pct(f.falseClearRate)} (${f.falseClears} of ${f.autoFinalized} auto-finalized; bound ${pct(f.maxFalseClear)}); ${pct(f.falseClearsPerStudy, 3)} of all studies`,
    ...guaranteeLines(f).map((l) => `  ${l}`),
    '',
    renderTable(CLASS_COLUMNS, classRows(f)),
  ].join('\n');
}

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('second-reader policies: fit per-class thresholds on a validation split, list, show');

  policy
    .command('fit')
    .description('fit per-class thresholds that maximize second-review reduction under a false-clear bound; store the policy and write its report')
    .requiredOption('--model <ref>', 'registered model: name (latest version), name:version or name@alias')
    .requiredOption('--dataset <version>', 'dataset version id or unique prefix')
    .option('--split <split>', `split to fit on (${EVALUATION_SPLITS.join(', ')})`, 'val')
    .option('--reader-accuracy <p>', `simulated reader A: probability of the right label (default ${DEFAULT_READER_ACCURACY})`)
    .option('--confusion <pattern>', `simulated reader A's errors: ${CONFUSION_PATTERNS.join(' | ')} (default miss: an abnormal study read as normal)`)
    .option('--reader-class-accuracy <list>', 'per-class accuracy of the simulated reader, e.g. oct-drusen=0.7,lung-opacity=0.8')
    .option('--reader-seed <n>', "seed of the simulated reader's draws (default 1)")
    .option('--reader-a-reads <file.csv>', 'recorded reads of A instead of a simulated reader: CSV lines sha256,label')
    .option('--max-false-clear <rate>', 'bound on false clears / auto-finalized studies (0.005 = 0.5%)', String(DEFAULT_MAX_FALSE_CLEAR))
    .option(
      '--method <method>',
      `${FIT_METHODS.join(' | ')}: ltt certifies the bound out of sample at --confidence (Learn then Test); empirical only on the split`,
      'ltt',
    )
    .option('--confidence <c>', 'ltt: probability that the fitted policy keeps the bound out of sample', String(DEFAULT_CONFIDENCE))
    .option('--search-fraction <f>', 'ltt: share of the split that builds the candidates; the rest tests them', String(DEFAULT_SEARCH_FRACTION))
    .option('--split-seed <n>', 'ltt: seed of the search/test assignment', '1')
    .option('--always-double-read <classes>', 'comma-separated classes that are never auto-finalized')
    .option('--qa-fraction <f>', 'share of would-be auto-finalized studies still sent to B (stored in the policy)', String(DEFAULT_QA_FRACTION))
    .option('--out <dir>', 'where to write tradeoff.png, report.json, report.md (default: <home>/reports/policies/<policy id>)')
    .option('--dry-run', 'fit and write the report, store no policy')
    .option('--batch-size <n>', 'images per inference call', '32')
    .option('--threads <n>', 'ONNX Runtime intra-op threads', '1')
    .option('--by <user>', 'who creates the policy (default: the OS user)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', FIT_HELP)
    .action(async (o: FitFlags) => {
      // Everything the user typed is checked before the model runs.
      const ref = parseModelRef(o.model);
      if (!EVALUATION_SPLITS.includes(o.split as never))
        throw new ValidationError(`--split must be one of ${EVALUATION_SPLITS.join(', ')}, got '${o.split.slice(0, 40)}'`);
      const maxFalseClear = parseNumber('--max-false-clear', o.maxFalseClear, 0, 1);
      const qaFraction = parseNumber('--qa-fraction', o.qaFraction, 0, 1);
      if (!(FIT_METHODS as readonly string[]).includes(o.method))
        throw new ValidationError(`--method must be one of ${FIT_METHODS.join(', ')}, got '${o.method.slice(0, 40)}'`);
      const method = o.method as FitMethod;
      const confidence = parseNumber('--confidence', o.confidence, 0, 1);
      const searchFraction = parseNumber('--search-fraction', o.searchFraction, 0, 1);
      if (confidence <= 0 || confidence >= 1) throw new ValidationError('--confidence must be strictly between 0 and 1');
      if (searchFraction <= 0 || searchFraction >= 1) throw new ValidationError('--search-fraction must be strictly between 0 and 1');
      const splitSeed = parseInteger('--split-seed', o.splitSeed, 0, 2 ** 31 - 1);
      const alwaysDoubleRead = o.alwaysDoubleRead === undefined ? [] : parseClassList('--always-double-read', o.alwaysDoubleRead);
      const batchSize = parseInteger('--batch-size', o.batchSize, 1, 4096);
      const threads = parseInteger('--threads', o.threads, 1, 256);
      const { reader, description } = await readerFromFlags(o);

      await withContext(async (ctx) => {
        const db = await ctx.db();
        const objects = ctx.objects();
        const registry = new ModelRegistry(db, objects, new Tracker(db, objects));
        const progress = createProgressRenderer();
        let scored;
        try {
          scored = await scoreSplit(
            { db, objects, registry, logger: ctx.logger, cacheDir: join(ctx.config.home, 'model-cache'), batchSize, threads },
            { model: ref.name, version: ref.version, alias: ref.alias, datasetVersion: o.dataset, split: o.split },
            { onProgress: progress.onProgress },
          );
        } finally {
          progress.stop();
        }
        const fit = fitPolicy(scored.cases, {
          readerA: reader,
          maxFalseClear,
          qaFraction,
          alwaysDoubleRead,
          classes: scored.model.classes.filter(isSecondreadClass),
          method,
          confidence,
          searchFraction,
          splitSeed,
        });
        if (fit.unread > 0)
          process.stderr.write(
            `warning: ${fit.unread} of ${scored.cases.length} studies of the split have no read in ${o.readerAReads}: left out of the fit\n`,
          );
        const report: PolicyFitReport = {
          kind: 'policy-fit',
          model: { name: scored.model.name, version: scored.model.version, temperature: scored.model.temperature },
          dataset: { version: scored.datasetVersion, split: scored.split },
          readerA: description,
          unknownToModel: scored.unknownToModel,
          fittedAt: new Date().toISOString(),
          fit,
        };
        const chart = await renderPolicyChart(report);
        const stored = o.dryRun
          ? null
          : await new PolicyStore(db).create({ modelName: report.model.name, modelVersion: report.model.version, rule: fit.rule, by: actor(o.by), report });
        const out = resolve(o.out ?? join(ctx.config.home, 'reports', 'policies', stored?.id ?? `dry-run-${report.fittedAt.replace(/[:.]/g, '-')}`));
        const policyRef = stored ? { id: stored.id, version: stored.version } : null;
        try {
          await mkdir(out, { recursive: true });
          await writeFile(join(out, 'tradeoff.png'), chart);
          await writeFile(join(out, 'report.json'), `${JSON.stringify({ policy: policyRef, ...report }, null, 2)}\n`);
          await writeFile(join(out, 'report.md'), policyReportMarkdown(report, { policy: policyRef, chartFile: 'tradeoff.png' }));
        } catch (err) {
          const what = stored ? `policy ${stored.id} was stored, but its report could not be written` : 'the report could not be written';
          throw new ValidationError(`${what} to '${out}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        // The report is printed once, beside the policy (which stores the same object).
        if (fit.guarantee && fit.guarantee.chosen === null)
          process.stderr.write(
            `warning: nothing certified at bound ${pct(maxFalseClear)} and confidence ${pct(confidence, 0)} on ${fit.studies} studies: the policy clears nothing (see the summary)\n`,
          );
        if (o.json) return printJson({ policy: stored ? { ...stored, report: undefined } : null, out, ...report });
        print(fitSummary(report));
        print('');
        print(
          stored
            ? `policy ${stored.id} stored: version ${stored.version} of ${stored.modelName} v${stored.modelVersion}, in force for it from now on`
            : 'dry run: no policy stored',
        );
        print(`report: ${join(out, 'report.md')} (tradeoff.png, report.json)`);
      });
    });

  policy
    .command('ls')
    .description('stored policies, newest version first per model version')
    .option('--model <name>', 'only the policies of this model')
    .option('--json', 'print as JSON')
    .action(async (o: { model?: string; json?: boolean }) => {
      await withContext(async (ctx) => {
        const list = await new PolicyStore(await ctx.db()).list(o.model);
        // Reports only with `policy show` (as GET /v1/policies lists them without).
        if (o.json) return printJson(list.map((p) => ({ ...p, report: undefined })));
        if (list.length === 0)
          return print(o.model ? `no policies for ${o.model} yet` : 'no policies yet: fit one with `secondread policy fit --model <name> --dataset <version>`');
        // list() is newest version first within each model version: the first seen is the one in force.
        const seen = new Set<string>();
        const rows = list.map((p) => {
          const key = `${p.modelName}@${p.modelVersion}`;
          const inForce = !seen.has(key);
          seen.add(key);
          const fit = fitReportOf(p)?.fit;
          return [
            p.id,
            p.modelName,
            `v${p.modelVersion}`,
            p.version,
            inForce ? 'yes' : '',
            Object.keys(p.thresholds).length,
            p.alwaysDoubleRead.join(',') || '—',
            pct(p.qaFraction, 1),
            fit ? pct(fit.reduction, 1) : '—',
            fit ? pct(fit.falseClearRate) : '—',
            fit ? (fit.guarantee ? `LTT ${pct(fit.guarantee.confidence, 0)}` : 'empirical') : '—',
            when(p.createdAt),
            p.createdBy,
          ];
        });
        print(
          renderTable(
            [
              'id',
              'model',
              'model version',
              'policy',
              'in force',
              'thresholds',
              'always double-read',
              'QA',
              'reduction',
              'false-clear',
              'fit',
              'created (UTC)',
              'by',
            ],
            rows,
          ),
        );
      });
    });

  policy
    .command('show <id>')
    .description('one policy: its thresholds and, when a fit made it, the fit figures')
    .option('--json', 'print as JSON (the stored report included)')
    .action(async (id: string, o: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const store = new PolicyStore(await ctx.db());
        const p = await store.get(id);
        const inForce = (await store.inForce(p.modelName, p.modelVersion))?.id === p.id;
        if (o.json) return printJson({ ...p, inForce });
        const r = fitReportOf(p);
        print(
          `policy ${p.id}: version ${p.version} of ${p.modelName} v${p.modelVersion}${inForce ? ' (in force)' : ' (superseded by a newer version)'}, created ${when(p.createdAt)} by ${p.createdBy}`,
        );
        print(
          `  QA fraction ${pct(p.qaFraction, 1)}; always double-read: ${p.alwaysDoubleRead.join(', ') || 'none'}; classes without a threshold never auto-finalize`,
        );
        print('');
        if (r) return print(fitSummary(r));
        const entries = Object.entries(p.thresholds);
        print(
          entries.length
            ? renderTable(
                ['class', 'threshold'],
                entries.map(([c, t]) => [c, fmtThreshold(t)]),
              )
            : 'no thresholds: nothing is auto-finalized',
        );
      });
    });
}
