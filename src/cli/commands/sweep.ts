// `secondread sweep --config sweep.yaml`: a grid or random search over training options. Each trial is a `train`
// job: on the embedded default this process trains them one after another; with REDIS_URL they go to BullMQ and
// every `secondread worker` (on this or other machines) takes trials in parallel. The command follows the trials
// and ends with a table ranked by the sweep's metric; running it again continues a stopped sweep.
import { join } from 'node:path';

import type { Command } from 'commander';

import { SecondreadError } from '../../core/errors.js';
import { renderTable } from '../../data/validate/table.js';
import { DEFAULT_QUEUE_NAME, jobBackend, openJobQueue } from '../../jobs/index.js';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { planSweep, queueSweep, rankTrials, readSweepFile, registerTrainJob, runSweep, type SweepPlan, type TrialState } from '../../training/index.js';
import { actor } from '../actor.js';
import { withContext } from '../context.js';
import { createProgressRenderer } from '../progress.js';
import { fmtNumber, print, printJson } from './runs.js';

interface SweepOptions {
  config: string;
  dryRun?: boolean;
  wait: boolean;
  queue: string;
  by?: string;
  json?: boolean;
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** The trials before they run: index and the options that vary. */
export function formatPlan(plan: SweepPlan): string {
  const keys = [...new Set(plan.trials.flatMap((t) => Object.keys(t.varied)))];
  return [
    `sweep ${plan.name}: ${plan.trials.length} trial${plan.trials.length === 1 ? '' : 's'} (${plan.method}), experiment ${plan.experiment}, ranked by ${plan.metric} (${plan.goal})`,
    renderTable(
      ['trial', ...keys],
      plan.trials.map((t) => [String(t.index), ...keys.map((k) => show(t.varied[k]))]),
    ),
  ].join('\n');
}

/** The ranked result: best first, the varied options, the ranking metric, test accuracy, time, the worker. */
export function formatResults(plan: SweepPlan, states: readonly TrialState[]): string {
  const keys = [...new Set(plan.trials.flatMap((t) => Object.keys(t.varied)))];
  const ranked = rankTrials(plan, states);
  const rows = ranked.map((s, i) => {
    const sum = s.result?.summary ?? {};
    const outcome = s.status === 'succeeded' ? '' : s.error ? `${s.status}: ${s.error.message}` : s.status;
    return [
      s.result ? String(i + 1) : '',
      String(s.trial.index),
      s.result?.run ?? '',
      ...keys.map((k) => show(s.trial.varied[k])),
      fmtNumber(sum[plan.metric]),
      fmtNumber(sum.test_accuracy),
      sum.train_seconds !== undefined ? `${(sum.train_seconds / 60).toFixed(1)} min` : '',
      s.result?.worker ?? outcome,
    ];
  });
  const done = states.filter((s) => s.status === 'succeeded').length;
  const lines = [
    `sweep ${plan.name}: ${done}/${states.length} trials done (experiment ${plan.experiment})`,
    renderTable(['rank', 'trial', 'run', ...keys, plan.metric, 'test_accuracy', 'train time', 'worker'], rows),
  ];
  const best = ranked[0];
  if (best?.result)
    lines.push(
      '',
      `best: trial ${best.trial.index} (${best.result.run}) — compare: secondread runs compare --experiment ${plan.experiment}; register: secondread models register ${best.result.run} --name <name>`,
    );
  return lines.join('\n');
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('grid or random search over training options: every trial a job (this process, or `secondread worker`s with REDIS_URL)')
    .requiredOption('--config <file>', 'sweep file (YAML): name, method (grid|random), trials, base options, parameters, metric (docs/training.md)')
    .option('--dry-run', 'print the trials and stop (nothing is queued)')
    .option('--no-wait', 'queue the trials and return (with REDIS_URL: workers run them)')
    .option('--queue <name>', 'BullMQ queue name (with REDIS_URL)', DEFAULT_QUEUE_NAME)
    .option('--by <user>', 'who the jobs are recorded as (default: the OS user)')
    .option('--json', 'print the trials (and results) as JSON')
    .addHelpText(
      'after',
      `
Example sweep.yaml:
  name: lr-wd
  method: grid                 # or random (with trials: N, seed: S; ranges {min, max, scale: log})
  base: { dataset: ds-e92b, model: vit-small, epochs: 20 }
  parameters:
    lr: { values: [0.0005, 0.001] }
    weight-decay: { values: [0.05, 0.1] }
    seed: { values: [1, 2] }
  metric: val_accuracy         # ranked on validation; test accuracy is shown beside it

Trials are runs named <name>-<n> in the experiment sweep-<name>. Ctrl-C stops following (with the embedded
queue: after checkpointing the running trial); run the same command again to continue the sweep.`,
    )
    .action(async (opts: SweepOptions) => {
      const plan = planSweep(readSweepFile(opts.config));
      if (opts.dryRun) return opts.json ? printJson(plan) : print(formatPlan(plan));
      await withContext(async (ctx) => {
        const db = await ctx.db();
        const objects = ctx.objects();
        const tracker = new Tracker(db, objects);
        // The embedded queue runs the trials in this process (one at a time); BullMQ only queues them here.
        const queue = openJobQueue(ctx.config, { db, logger: ctx.logger, worker: false, concurrency: 1, queueName: opts.queue });
        const embedded = jobBackend(ctx.config) === 'in-process';
        if (embedded)
          registerTrainJob(queue, { db, objects, tracker, registry: new ModelRegistry(db, objects, tracker), cacheDir: join(ctx.config.home, 'cache') });
        const progress = createProgressRenderer();
        const stop = new AbortController();
        const onSignal = () => {
          if (stop.signal.aborted) process.exit(130);
          process.stderr.write(
            `\nstopping: ${embedded ? 'checkpointing the running trial; ' : ''}queued trials stay queued — run the same command again to continue\n`,
          );
          stop.abort();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        let states: TrialState[];
        try {
          await queue.start();
          const createdBy = actor(opts.by);
          if (!opts.wait) {
            states = await queueSweep(plan, { db, queue, createdBy });
          } else {
            if (!embedded) process.stderr.write(`trials queued on Redis (queue ${opts.queue}): start \`secondread worker\` processes to run them\n`);
            states = await runSweep(plan, {
              db,
              queue,
              createdBy,
              signal: stop.signal,
              onUpdate: (s) => {
                const done = s.filter((t) => t.status === 'succeeded' || t.status === 'failed').length;
                const running = s.filter((t) => t.status === 'running');
                const best = rankTrials(plan, s)[0]?.result?.summary?.[plan.metric];
                progress.onProgress({
                  phase: `sweep ${plan.name}`,
                  done,
                  total: s.length,
                  info: {
                    running: running.map((t) => `#${t.trial.index} ${Math.round(100 * t.progress)}%`).join(' ') || '—',
                    ...(best !== undefined ? { [`best ${plan.metric}`]: fmtNumber(best) } : {}),
                  },
                });
              },
            });
          }
        } finally {
          progress.stop();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await queue.close();
        }
        if (opts.json) printJson({ plan: { name: plan.name, experiment: plan.experiment, metric: plan.metric, goal: plan.goal }, trials: states });
        else print(formatResults(plan, states));
        const failed = states.filter((s) => s.status === 'failed');
        if (failed.length > 0)
          throw new SecondreadError(
            'sweep_trials_failed',
            `${failed.length} of ${states.length} trials failed (see the table; run the sweep again to retry them)`,
            422,
          );
      });
    });
}
