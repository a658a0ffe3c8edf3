// BullMQ queue against a real Redis (REDIS_URL, default redis://127.0.0.1:6379) and a real PostgreSQL for the
// mirrored `jobs` table: a producer and a worker that share nothing but Redis and the DB, as an API process and
// a `secondread worker` process would. Each test uses its own queue name and removes it afterwards.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NotFoundError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { type BullQueueOptions, createBullQueue, QueueUnavailableError } from './bull.js';
import { JobStore } from './store.js';
import { gate, removeBullQueue, waitFor, waitForJob } from './testing.js';
import type { JobQueue } from './types.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

let t: TestDatabase;
let queueName: string;
let opened: JobQueue[];
beforeEach(async () => {
  t = await openTestDatabase('postgres');
  queueName = `sr-test-${randomBytes(6).toString('hex')}`;
  opened = [];
});
afterEach(async () => {
  for (const q of opened) await q.close();
  await removeBullQueue(REDIS_URL, queueName);
  await t.close();
});

function open(o: Partial<BullQueueOptions> & { worker: boolean }): JobQueue {
  const q = createBullQueue({ db: t.openAnother(), logger: silentLogger, redisUrl: REDIS_URL, queueName, ...o });
  opened.push(q);
  return q;
}

describe('BullMQ job queue', () => {
  it('a job enqueued by one instance is run by a worker instance; the result is read back from the DB', async () => {
    const producer = open({ worker: false });
    const worker = open({ worker: true });
    const hold = gate();
    worker.register<{ a: number; b: number }, { sum: number }>('add', async (p, ctx) => {
      await ctx.progress(0.25);
      await hold.promise;
      return { sum: p.a + p.b };
    });
    await worker.start();
    const job = await producer.enqueue('add', { a: 2, b: 40 }, { createdBy: 'alice' });
    expect(job).toMatchObject({ status: 'queued', kind: 'add', payload: { a: 2, b: 40 }, createdBy: 'alice' });
    const mid = await waitFor(async () => {
      const j = await producer.get(job.id);
      return j?.progress === 0.25 ? j : undefined;
    });
    expect(mid).toMatchObject({ status: 'running', attempts: 1 });
    hold.open();
    expect(await waitForJob(producer, job.id)).toMatchObject({ status: 'succeeded', progress: 1, result: { sum: 42 }, error: null, attempts: 1 });
  });

  it('a job whose handler throws ends failed with its code and message', async () => {
    const producer = open({ worker: false });
    const worker = open({ worker: true });
    worker.register('missing-model', async () => {
      throw new NotFoundError('model', 'cxr-oct');
    });
    worker.register('crash', async () => {
      throw new RangeError('index out of range');
    });
    await worker.start();
    const a = await producer.enqueue('missing-model', {}, { createdBy: 'bob' });
    const b = await producer.enqueue('crash', {}, { createdBy: 'bob' });
    expect(await waitForJob(producer, a.id)).toMatchObject({
      status: 'failed',
      result: null,
      error: { code: 'not_found', message: "model 'cxr-oct' was not found" },
      attempts: 1,
    });
    expect(await waitForJob(producer, b.id)).toMatchObject({ status: 'failed', error: { code: 'job_failed', message: 'index out of range' } });
  });

  it('a job handed back by a worker that shuts down is finished by another worker', async () => {
    const producer = open({ worker: false });
    const first = open({ worker: true, lockDurationMs: 1000, stalledIntervalMs: 300, shutdownGraceMs: 200 });
    first.register('long', async (_p, ctx) => {
      await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r()));
      throw new Error('interrupted');
    });
    await first.start();
    const job = await producer.enqueue('long', { x: 1 }, { createdBy: 'c' });
    await waitFor(async () => ((await producer.get(job.id))?.status === 'running' ? true : undefined));
    await first.close();
    expect(await producer.get(job.id)).toMatchObject({ status: 'queued', attempts: 0, error: null });

    const second = open({ worker: true, lockDurationMs: 1000, stalledIntervalMs: 300 });
    second.register<{ x: number }, string>('long', async (p) => `done ${p.x}`);
    await second.start();
    expect(await waitForJob(producer, job.id, 20_000)).toMatchObject({ status: 'succeeded', result: 'done 1', attempts: 1 });
  });

  it('enqueue fails with queue_unavailable when Redis does not answer, and the row is not left queued', async () => {
    const producer = createBullQueue({ db: t.db, logger: silentLogger, redisUrl: 'redis://127.0.0.1:1', queueName, worker: false, enqueueTimeoutMs: 300 });
    try {
      await expect(producer.enqueue('add', {}, { createdBy: 'd' })).rejects.toBeInstanceOf(QueueUnavailableError);
      const rows = await t.db.selectFrom('jobs').selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'failed' });
      expect(JSON.parse(rows[0]!.error_json!)).toMatchObject({ code: 'queue_unavailable' });
    } finally {
      await producer.close();
    }
  });

  describe('a worker killed with SIGKILL in the middle of a job', () => {
    const HANGING = resolve(import.meta.dirname, 'testdata/hanging-worker.ts');

    async function killWorkerMidJob(t2: TestDatabase): Promise<string> {
      const proc = spawn(process.execPath, ['--import', 'tsx', HANGING, t2.location, REDIS_URL, queueName, '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise((r) => proc.on('exit', r));
      try {
        await waitFor(() => (out.includes('ready') ? true : undefined), { timeoutMs: 60_000, what: 'the hanging worker to start' });
        const producer = createBullQueue({ db: t2.db, logger: silentLogger, redisUrl: REDIS_URL, queueName, worker: false });
        opened.push(producer);
        const job = await producer.enqueue('work', { n: 1 }, { createdBy: 'e' });
        await waitFor(() => (out.includes(`running ${job.id}`) ? true : undefined), { timeoutMs: 20_000, what: 'the job to start' });
        return job.id;
      } finally {
        proc.kill('SIGKILL');
        await exited;
      }
    }

    let sqlite: TestDatabase;
    beforeEach(async () => {
      sqlite = await openTestDatabase('sqlite');
    });
    afterEach(async () => {
      await sqlite.close();
    });

    it('is re-run by another worker once its lock lapses (attempt 2)', async () => {
      const id = await killWorkerMidJob(sqlite);
      expect(await new JobStore(sqlite.db).get(id)).toMatchObject({ status: 'running', attempts: 1 });
      const rescuer = createBullQueue({
        db: sqlite.openAnother(),
        logger: silentLogger,
        redisUrl: REDIS_URL,
        queueName,
        worker: true,
        lockDurationMs: 1000,
        stalledIntervalMs: 300,
      });
      opened.push(rescuer);
      rescuer.register('work', async () => 'recovered');
      await rescuer.start();
      expect(await waitForJob(rescuer, id, 20_000)).toMatchObject({ status: 'succeeded', result: 'recovered', attempts: 2 });
    });

    it('is failed with worker_lost once it used maxAttempts', async () => {
      const id = await killWorkerMidJob(sqlite);
      const checker = createBullQueue({
        db: sqlite.openAnother(),
        logger: silentLogger,
        redisUrl: REDIS_URL,
        queueName,
        worker: true,
        maxAttempts: 1,
        lockDurationMs: 1000,
        stalledIntervalMs: 300,
      });
      opened.push(checker);
      checker.register('work', async () => 'should not run');
      await checker.start();
      expect(await waitForJob(checker, id, 20_000)).toMatchObject({ status: 'failed', attempts: 1, result: null, error: { code: 'worker_lost' } });
    });
  });
});
