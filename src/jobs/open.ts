// Picks the job queue the configuration asks for: BullMQ when a Redis URL is configured (REDIS_URL / `redisUrl`),
// else the embedded in-process queue in the metadata DB.
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../storage/db.js';
import { createBullQueue } from './bull.js';
import { createInProcessQueue } from './in-process.js';
import type { JobQueue } from './types.js';

export interface OpenJobQueueDeps {
  db: Db;
  logger: Logger;
  /** BullMQ only: whether `start()` attaches a worker here (`secondread worker`: true; the API: false). */
  worker?: boolean;
  concurrency?: number;
  clock?: Clock;
  /** BullMQ only (default 'secondread-jobs'). */
  queueName?: string;
}

export function jobBackend(config: Pick<Config, 'redisUrl'>): 'bullmq' | 'in-process' {
  return config.redisUrl ? 'bullmq' : 'in-process';
}

export function openJobQueue(config: Pick<Config, 'redisUrl'>, deps: OpenJobQueueDeps): JobQueue {
  const { db, logger, concurrency, clock } = deps;
  if (config.redisUrl)
    return createBullQueue({ db, logger, concurrency, clock, redisUrl: config.redisUrl, queueName: deps.queueName, worker: deps.worker ?? false });
  return createInProcessQueue({ db, logger, concurrency, clock });
}
