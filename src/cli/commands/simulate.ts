// `secondread simulate`: replays a dataset split through the real HTTP API as production traffic —
// intake, blinded reader A, the model, the policy, reader B — with simulated readers, and writes a
// report (report.md, report.json, PNG charts) of reduction, false clears, time and cost saved and
// per-class agreement, cross-checked against the server's own metrics. Its own in-process server by
// default, or a running one at --url (loopback only). Ctrl-C stops starting studies, lets the ones in
// flight finish and still writes the report; a second Ctrl-C cancels those too.
import { join, resolve } from 'node:path';

import type { Command } from 'commander';

import { SecondreadError, ValidationError } from '../../core/errors.js';
import { resolveVersionRef } from '../../data/datasets/repository.js';
import { EVALUATION_SPLITS } from '../../monitoring/evaluations/run.js';
import type { EvaluationSplit } from '../../monitoring/evaluations/types.js';
import { loopbackBaseUrl } from '../../simulate/client.js';
import { summaryLines } from '../../simulate/report.js';
import { newSimulationId, runSimulation, type SimulationOptions } from '../../simulate/run.js';
import { scenarioSummary, writeScenarioReport } from '../../simulate/scenario/report.js';
import { runScenario } from '../../simulate/scenario/run.js';
import { readScenarioFile } from '../../simulate/scenario/schema.js';
import { type InProcessServer, startInProcessServer } from '../../simulate/server.js';
import { CONFUSION_PATTERNS, type ConfusionPattern } from '../../workflow/simulated-reader.js';
import { UserStore } from '../../workflow/users.js';
import { withContext } from '../context.js';
import { parseInteger, parseNumber } from '../parse.js';
import { createProgressRenderer } from '../progress.js';
import { print } from './runs.js';

interface SimulateFlags {
  dataset?: string;
  scenario?: string;
  split: string;
  model?: string;
  url?: string;
  rate: string;
  concurrency: string;
  limit?: string;
  maxSeconds: string;
  maxFailures: string;
  readerAAccuracy: string;
  readerBAccuracy: string;
  confusion: string;
  seed: string;
  metricsEvery: string;
  out?: string;
}

/** Something the run found wrong with the pipeline (failed studies, a figure the server disagrees on, …): exit 1. */
class SimulationFindingsError extends SecondreadError {
  constructor(message: string) {
    super('simulation_findings', message, 500);
  }
}

/** The flags, checked before anything is opened (a bad flag exits 2 and touches nothing). */
export function parseSimulateFlags(f: SimulateFlags): Omit<SimulationOptions, 'datasetVersion' | 'outDir' | 'id'> & { url: string | null } {
  if (!(EVALUATION_SPLITS as readonly string[]).includes(f.split))
    throw new ValidationError(`--split must be one of ${EVALUATION_SPLITS.join(', ')}, got '${f.split}'`);
  if (!(CONFUSION_PATTERNS as readonly string[]).includes(f.confusion))
    throw new ValidationError(`--confusion must be one of ${CONFUSION_PATTERNS.join(', ')}, got '${f.confusion}'`);
  const url = f.url === undefined ? null : loopbackBaseUrl(f.url);
  if (url !== null && f.model !== undefined)
    throw new ValidationError('--model chooses the model of the in-process server; with --url the server decides (its workflow model)');
  const rate = parseNumber('--rate', f.rate, 0, 100_000);
  const maxSeconds = parseNumber('--max-seconds', f.maxSeconds, 0, 7 * 24 * 3600);
  const seed = parseInteger('--seed', f.seed, 0, 2 ** 31 - 2);
  const confusion = f.confusion as ConfusionPattern;
  return {
    url,
    split: f.split as EvaluationSplit,
    limit: f.limit === undefined ? null : parseInteger('--limit', f.limit),
    // 0: no rate limit (as fast as --concurrency allows); 0 seconds: no time bound.
    rate: rate === 0 ? null : rate,
    concurrency: parseInteger('--concurrency', f.concurrency, 1, 256),
    maxSeconds: maxSeconds === 0 ? null : maxSeconds,
    maxFailures: parseInteger('--max-failures', f.maxFailures),
    readerA: { accuracy: parseNumber('--reader-a-accuracy', f.readerAAccuracy, 0, 1), confusion, seed },
    // B errs on other studies than A: its own seed.
    readerB: { accuracy: parseNumber('--reader-b-accuracy', f.readerBAccuracy, 0, 1), confusion, seed: seed + 1 },
    metricsEverySeconds: parseNumber('--metrics-every', f.metricsEvery, 0.1, 3600),
  };
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('replay a dataset split through the HTTP API as production studies with simulated readers A and B; report reduction, false clears, savings')
    .option('--dataset <version>', 'dataset version id (or an unambiguous prefix); required unless --scenario')
    .option(
      '--scenario <file.yaml>',
      'run a scenario script instead (e.g. scenarios/shifted-stream.yaml): baseline → shifted stream → drift alarm → feedback → retrain job → protocol → canary → production, a rejected bad candidate, a rolled-back canary; report in --out',
    )
    .option('--split <split>', `split to replay: ${EVALUATION_SPLITS.join(', ')}`, 'final_eval')
    .option(
      '--model <name>',
      'the model that reads the studies on the in-process server, by its production alias (default: config workflow.model, else the only model with a production alias)',
    )
    .option('--url <url>', 'drive a running server instead (loopback only, sharing this configuration’s database and object store)')
    .option('--rate <studies/s>', 'studies started per second (0 = as fast as --concurrency allows)', '10')
    .option('--concurrency <n>', 'studies in flight at once', '4')
    .option('--limit <n>', 'replay at most this many images of the split (in sha256 order: classes mixed)')
    .option('--max-seconds <s>', 'start no study after this many seconds (0 = no time bound)', '600')
    .option('--max-failures <n>', 'stop after this many studies failed', '10')
    .option('--reader-a-accuracy <p>', 'reader A: probability of the right label', '0.9')
    .option('--reader-b-accuracy <p>', 'reader B (the adjudicator): probability of the right label (1 = ground truth)', '1')
    .option('--confusion <pattern>', `how a simulated reader errs: ${CONFUSION_PATTERNS.join(', ')} (miss: an abnormal study called normal)`, 'miss')
    .option('--seed <n>', "seed of reader A's errors (reader B uses seed + 1)", '1')
    .option('--metrics-every <s>', 'seconds between reads of the server metrics during the run (over-time charts)', '5')
    .option('--out <dir>', 'report directory (default: <home>/simulations/<run id>)')
    .addHelpText(
      'after',
      `
Scenarios (docs/simulate.md "Scenarios"): --scenario runs the phases of a scenario script in order on the embedded
default (SQLite, local files, jobs in this process) with the in-process server composed as serve composes it
(job queue, retrain triggers, rollout gate): (0) setup — synthesize the baseline and shifted sets, train and release
production v1; (1) baseline stream; (2) shifted stream with drift checks until the alarm; (3) the drift trigger's
retrain job builds the feedback dataset; (4) it trains a child run; (5) the change protocol → staging → canary;
(6) canary steps fed by the stream → production; (7) a candidate trained on misaligned labels (class index + 5) → rejected;
(8) that candidate forced past evaluation by the scenario's declared permissive criteria → canary → automatic
rollback. Then /metrics, the UI's API routes and the audit chain are checked; report.md and report.json go to --out.
Run it in a fresh home: SECONDREAD_HOME=$(mktemp -d) secondread simulate --scenario scenarios/shifted-stream.yaml
The other flags do not apply to a scenario (its file sets readers, splits and sizes). Exit 1 on any finding.`,
    )
    .action(async (flags: SimulateFlags) => {
      if (flags.scenario !== undefined) return runScenarioCommand(flags.scenario, flags.out);
      if (flags.dataset === undefined) throw new ValidationError('--dataset is required (or --scenario <file.yaml>)');
      const dataset = flags.dataset;
      const o = parseSimulateFlags(flags);
      await withContext(async (ctx) => {
        const db = await ctx.db();
        const objects = ctx.objects();
        const datasetVersion = await resolveVersionRef(db, dataset);
        const id = newSimulationId();
        const outDir = flags.out !== undefined ? resolve(flags.out) : join(ctx.config.home, 'simulations', id);

        let server: InProcessServer | null = null;
        const stop = new AbortController();
        const abort = new AbortController();
        let signals = 0;
        const onSignal = () => {
          if (++signals === 1) {
            process.stderr.write('\nstopping: no new studies; finishing those in flight, then writing the report (Ctrl-C again to cancel them)\n');
            stop.abort();
          } else abort.abort();
        };
        const progress = createProgressRenderer();
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        try {
          if (o.url === null) server = await startInProcessServer({ config: ctx.config, logger: ctx.logger, db, objects }, { model: flags.model });
          const report = await runSimulation(
            {
              db,
              objects,
              users: new UserStore(db),
              server: server ? { url: server.url, inProcess: true, note: server.note } : { url: o.url!, inProcess: false, note: null },
              logger: ctx.logger,
              onProgress: progress.onProgress,
              stop: stop.signal,
              abort: abort.signal,
            },
            { ...o, id, datasetVersion, outDir },
          );
          progress.stop();
          for (const line of summaryLines(report)) print(line);
          print(`report: ${join(outDir, 'report.md')}`);
          const f = report.figures;
          const findings = [
            report.record.schedule.failed > 0 ? `${report.record.schedule.failed} studies failed` : null,
            report.differences.length > 0 ? `${report.differences.length} figures differ from the server's metrics` : null,
            f.blindingViolations > 0 ? `${f.blindingViolations} studies were not blinded before read A` : null,
            report.record.capture.missing.length > 0 ? `${report.record.capture.missing.length} study images missing from the object store` : null,
            f.imageRoundTripFailures > 0 ? `${f.imageRoundTripFailures} images came back with another sha256` : null,
          ].filter((x): x is string => x !== null);
          if (findings.length > 0) throw new SimulationFindingsError(`the simulation found problems: ${findings.join('; ')} (see the report)`);
        } finally {
          progress.stop();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await server?.close();
        }
      });
    });
}

/** `simulate --scenario`: the scenario validated before anything is opened (a bad file exits 2), run, reported. */
async function runScenarioCommand(file: string, out: string | undefined): Promise<void> {
  const scenario = await readScenarioFile(file);
  await withContext(async (ctx) => {
    const outDir = out !== undefined ? resolve(out) : join(ctx.config.home, 'scenarios', `${scenario.document.name}-${Date.now().toString(36)}`);
    const result = await runScenario({ config: ctx.config, logger: ctx.logger, db: await ctx.db(), objects: ctx.objects(), say: print }, scenario, { outDir });
    const files = await writeScenarioReport(result);
    for (const line of scenarioSummary(result)) print(line);
    print(`report: ${files.markdown}`);
    if (!result.ok) throw new SimulationFindingsError(`the scenario found problems (see ${files.markdown})`);
  });
}
