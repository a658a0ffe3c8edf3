// `secondread worker`: runs background jobs (evaluations, …) taken from the BullMQ queue on Redis, as many
// processes on as many machines as needed; they share the metadata DB and the object store with the API. Without
// Redis there is nothing to attach to: the embedded queue runs jobs inside the process that enqueues them.
import { join } from 'node:path';

import { type Command, InvalidArgumentError } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { createBullQueue, DEFAULT_QUEUE_NAME } from '../../jobs/index.js';
import { startLoop } from '../../loop/loop.js';
import { createEvaluationService } from '../../monitoring/evaluations/index.js';
import { RolloutService } from '../../rollout/index.js';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { registerTrainJob } from '../../training/index.js';
import { withContext } from '../context.js';

interface WorkerOptions {
  concurrency: number;
  queue: string;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('must be an integer from 1 to 64');
  return n;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run background jobs (evaluations, training runs of sweeps, retraining) from the Redis job queue; needs REDIS_URL')
    .option('--concurrency <n>', 'jobs run at once by this process', positiveInt, 1)
    .option('--queue <name>', 'BullMQ queue name', DEFAULT_QUEUE_NAME)
    .action(async (opts: WorkerOptions) => {
      await withContext(async (ctx) => {
        if (!ctx.config.redisUrl) {
          throw new ValidationError(
            'secondread worker takes jobs from Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379) or redisUrl in secondread.yaml. ' +
              'Without Redis, jobs run inside the process that enqueues them (the embedded queue) and no worker is needed.',
          );
        }
        const db = await ctx.db();
        const objects = ctx.objects();
        const tracker = new Tracker(db, objects);
        const registry = new ModelRegistry(db, objects, tracker);
        const queue = createBullQueue({
          db,
          logger: ctx.logger,
          redisUrl: ctx.config.redisUrl,
          queueName: opts.queue,
          concurrency: opts.concurrency,
          worker: true,
        });
        const evaluations = createEvaluationService({
          db,
          objects,
          registry,
          jobs: queue,
          logger: ctx.logger,
          cacheDir: join(ctx.config.home, 'cache', 'models'),
        });
        evaluations.registerHandler(queue);
        registerTrainJob(queue, { db, objects, tracker, registry, cacheDir: join(ctx.config.home, 'cache') });
        // Retraining runs here; its triggers run in the API processes (startTriggers: false).
        const rollout = new RolloutService({ db, objects, registry, logger: ctx.logger, cacheDir: join(ctx.config.home, 'cache', 'models') });
        const cfg = ctx.config;
        await startLoop({ config: cfg, db, objects, registry, tracker, logger: ctx.logger, cacheDir: join(cfg.home, 'cache'), rollout }, queue, {
          runsJobs: true,
          startTriggers: false,
        });

        // `once`: a second signal while the running jobs finish gets Node's default (stop at once).
        let onSignal: (sig: NodeJS.Signals) => void = () => undefined;
        const stopped = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          await queue.start();
          ctx.logger.info({ queue: opts.queue, concurrency: opts.concurrency }, 'worker ready; SIGTERM or SIGINT stops it after the running jobs');
          const sig = await stopped;
          ctx.logger.info({ signal: sig }, 'worker stopping: finishing running jobs (then handing them back)');
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await queue.close();
        }
      });
    });
}
