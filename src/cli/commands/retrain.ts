// `secondread retrain`: retrain the production model now, as a `retrain` job (docs/jobs.md, "Retraining"). With the
// embedded queue this process runs the job and waits for it; with Redis a `secondread worker` runs it and this
// process waits (or, with --no-wait, prints the job id and leaves).
import { join } from 'node:path';

import type { Command } from 'commander';

import { firstLineOf, SecondreadError, ValidationError } from '../../core/errors.js';
import { jobBackend, openJobQueue } from '../../jobs/index.js';
import { waitFor } from '../../jobs/testing.js';
import { retrainModel, startLoop } from '../../loop/loop.js';
import type { RetrainResult } from '../../loop/retrain.js';
import { RetrainTriggers } from '../../loop/triggers.js';
import { RolloutService } from '../../rollout/index.js';
import { assertModelName, ModelRegistry, Tracker } from '../../tracking/index.js';
import { actor } from '../actor.js';
import { withContext } from '../context.js';
import { parseInteger, parseNumber } from '../parse.js';

interface RetrainFlags {
  model?: string;
  dataset?: string;
  since?: string;
  includeAutoFinalized?: boolean;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  seed?: string;
  wait: boolean;
  timeout: string;
  json?: boolean;
}

export function describeRetrain(r: RetrainResult): string {
  if (r.status === 'skipped') return `retrain skipped (${r.trigger}): ${r.reason}`;
  const fb = r.feedback ? `feedback ${r.feedback.version} (${r.feedback.added} new images, ${r.feedback.images} in all)` : `dataset ${r.dataset}`;
  const acc = r.run.summary?.test_accuracy;
  const verdict = r.rollout
    ? r.rollout.passed
      ? `passed the change protocol → staging${r.rollout.canary ? ', canary started' : ''}`
      : `rejected by the change protocol: ${(r.rollout.failures as string[]).join('; ')}`
    : 'no change protocol configured (retrain.protocol): evaluate it with `secondread rollout evaluate`';
  return [
    `retrained ${r.candidate.name} v${r.production.version} (${r.trigger}) → candidate v${r.candidate.version}`,
    `  ${fb}; run ${r.run.id} (child of ${r.run.parentRunId})${acc !== undefined ? `, test accuracy ${(100 * acc).toFixed(1)} %` : ''}`,
    `  ${verdict}`,
  ].join('\n');
}

export function registerRetrain(program: Command): void {
  program
    .command('retrain')
    .description('retrain the production model now on the feedback of finalized studies (a retrain job); the candidate goes to the change protocol')
    .option('--model <name>', 'registered model (default: config retrain.model, workflow.model, else the only production model)')
    .option('--dataset <version>', 'train on this dataset version instead of building a feedback dataset')
    .option('--since <date>', 'feedback from studies finalized at or after this date only')
    .option('--include-auto-finalized', 'feedback also takes auto-finalized studies B never reviewed')
    .option('--epochs <n>', 'training epochs (default: config retrain.train, else the trainer’s)')
    .option('--batch-size <n>', 'training batch size')
    .option('--lr <rate>', 'peak learning rate')
    .option('--seed <n>', 'training seed')
    .option('--no-wait', 'with Redis: print the job id and leave (a worker runs it)')
    .option('--timeout <s>', 'seconds to wait for the job', '86400')
    .option('--json', 'print the job as JSON')
    .action(async (flags: RetrainFlags) => {
      const train: Record<string, unknown> = {};
      if (flags.epochs !== undefined) train.epochs = parseInteger('--epochs', flags.epochs);
      if (flags.batchSize !== undefined) train.batchSize = parseInteger('--batch-size', flags.batchSize);
      if (flags.lr !== undefined) train.lr = parseNumber('--lr', flags.lr, 1e-8, 10);
      if (flags.seed !== undefined) train.seed = parseInteger('--seed', flags.seed, 0);
      const timeoutMs = parseNumber('--timeout', flags.timeout, 1, 30 * 86_400) * 1000;
      if (flags.model !== undefined) assertModelName(flags.model);
      await withContext(async (ctx) => {
        const { config, logger } = ctx;
        const db = await ctx.db();
        const objects = ctx.objects();
        const tracker = new Tracker(db, objects);
        const registry = new ModelRegistry(db, objects, tracker);
        const model = flags.model ?? (await retrainModel({ config, registry }));
        if (model === undefined)
          throw new ValidationError(
            'which model? give --model (no retrain.model or workflow.model is configured, and not exactly one model has a production alias)',
          );
        const embedded = jobBackend(config) === 'in-process';
        const queue = openJobQueue(config, { db, logger, worker: false });
        try {
          if (embedded) {
            const rollout = new RolloutService({ db, objects, registry, logger, cacheDir: join(config.home, 'cache', 'models') });
            await startLoop({ config, db, objects, registry, tracker, logger, cacheDir: join(config.home, 'cache'), rollout }, queue, {
              runsJobs: true,
              startTriggers: false,
            });
            await queue.start();
          }
          const triggers = new RetrainTriggers(
            { db, jobs: queue, logger },
            {
              model,
              onDrift: false,
              includeAutoFinalized: flags.includeAutoFinalized ?? config.retrain.includeAutoFinalized,
              train: { ...config.retrain.train, ...train },
            },
          );
          const detail = { ...(flags.dataset ? { dataset: flags.dataset } : {}), ...(flags.since ? { since: flags.since } : {}) };
          const job = await triggers.manual(actor(), detail, { dataset: flags.dataset, since: flags.since });
          process.stderr.write(`retrain job ${job.id} (${model}, ${embedded ? 'running here' : 'queued for a worker'})\n`);
          if (!embedded && !flags.wait) {
            process.stdout.write(flags.json ? `${JSON.stringify(job, null, 2)}\n` : `${job.id}\n`);
            return;
          }
          const done = await waitFor(
            async () => {
              const j = await queue.get(job.id);
              return j && ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
            },
            { timeoutMs, everyMs: 500, what: `retrain job ${job.id}` },
          ).catch((err: unknown) => {
            throw new SecondreadError('timeout', `${firstLineOf(err)}: it goes on; see its row in the jobs table`, 504);
          });
          if (flags.json) process.stdout.write(`${JSON.stringify(done, null, 2)}\n`);
          else if (done.status === 'succeeded') process.stdout.write(`${describeRetrain(done.result as RetrainResult)}\n`);
          if (done.status !== 'succeeded')
            throw new ValidationError(`retrain job ${job.id} ${done.status}: ${done.error?.code ?? ''} ${done.error?.message ?? ''}`.trim());
        } finally {
          await queue.close();
        }
      });
    });
}
