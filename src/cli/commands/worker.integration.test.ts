// `secondread worker` as its own process against a real Redis: an evaluation created in this process (the API's
// side: BullMQ producer + EvaluationService) is run by the worker process sharing the SQLite home, the figures
// are read back from the DB, and SIGTERM stops the worker cleanly.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../../core/logger.js';
import { createBullQueue } from '../../jobs/bull.js';
import { removeBullQueue, waitFor } from '../../jobs/testing.js';
import type { JobQueue } from '../../jobs/types.js';
import { createEvaluationService } from '../../monitoring/evaluations/service.js';
import { type EvaluationFixture, openEvaluationFixture } from '../../monitoring/evaluations/testing.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const BIN = resolve(import.meta.dirname, '../../../bin/secondread.js');

let f: EvaluationFixture;
let queueName: string;
let producer: JobQueue;
let child: ChildProcess | undefined;
beforeEach(async () => {
  f = await openEvaluationFixture();
  queueName = `sr-worker-${randomBytes(6).toString('hex')}`;
  producer = createBullQueue({ db: f.db, logger: silentLogger, redisUrl: REDIS_URL, queueName, worker: false });
});
afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await producer.close();
  await removeBullQueue(REDIS_URL, queueName);
  await f.close();
});

function startWorker(): { proc: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [BIN, 'worker', '--queue', queueName], {
    env: { ...process.env, SECONDREAD_HOME: f.home, REDIS_URL, LOG_LEVEL: 'info', SECONDREAD_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  child = proc;
  return { proc, stderr: () => err, exited };
}

describe('secondread worker (process)', () => {
  it('runs an evaluation enqueued elsewhere; SIGTERM stops it with exit code 0', async () => {
    const w = startWorker();
    await waitFor(() => (w.stderr().includes('worker ready') ? true : undefined), { timeoutMs: 60_000, what: `the worker to start; stderr: ${w.stderr()}` });
    const service = createEvaluationService({ db: f.db, objects: f.objects, registry: f.registry, jobs: producer, logger: silentLogger });
    const created = await service.create({ model: f.model, datasetVersion: f.datasetVersion, split: 'test', createdBy: 'api-user' });
    const done = await waitFor(
      async () => {
        const e = await service.get(created.id);
        return e && ['succeeded', 'failed'].includes(e.status) ? e : undefined;
      },
      { timeoutMs: 60_000, what: 'the evaluation to finish' },
    );
    expect(done).toMatchObject({ status: 'succeeded', images: 10, accuracy: 0.8, error: null });
    expect(done.report!.confusion).toEqual([
      [3, 1, 0],
      [0, 3, 0],
      [0, 1, 2],
    ]);
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.stderr()).toMatch(/worker stopping/);
  });
});
