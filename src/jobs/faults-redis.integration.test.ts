// Redis lost under load (issue 20, faults): a producer and a worker on BullMQ reach Redis through a TCP
// proxy (the shared Redis cannot be stopped: other tests use it) that the test cuts for two seconds
// while jobs run. Enqueues during the outage fail fast with queue_unavailable (503) and leave no row
// queued; after the proxy forwards again, every job enqueued before the outage is finished — each
// handler ran to completion exactly once — and new enqueues work, with the same queue instances.
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TcpProxy } from '../../test/integration/helpers/tcp-proxy.js';
import { silentLogger } from '../core/logger.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { createBullQueue, QueueUnavailableError } from './bull.js';
import { removeBullQueue, waitFor, waitForJob } from './testing.js';
import type { JobQueue } from './types.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const queueName = `sr-test-faults-${randomBytes(6).toString('hex')}`;

let t: TestDatabase;
let proxy: TcpProxy;
let producer: JobQueue;
let worker: JobQueue;
/** Completed handler runs per job id (a job must complete once, even across the outage). */
const completions = new Map<string, number>();

beforeAll(async () => {
  t = await openTestDatabase('postgres');
  const target = new URL(REDIS_URL);
  proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
  const proxied = new URL(REDIS_URL);
  proxied.host = `127.0.0.1:${proxy.port}`;
  // A short lock: a cut can swallow the reply to the worker's fetch, leaving a job active in Redis that no handler
  // runs; only the stalled check (after the lock lapses) puts it back in the wait list. With the 30 s default that
  // recovery alone took longer than the test waits (a CI failure); 4 s keeps it inside the wait, and a 150 ms
  // handler renews its lock long before that.
  const common = { logger: silentLogger, redisUrl: proxied.href, queueName, enqueueTimeoutMs: 1000, lockDurationMs: 4000 };
  producer = createBullQueue({ ...common, db: t.openAnother(), worker: false });
  worker = createBullQueue({ ...common, db: t.openAnother(), worker: true });
  worker.register<{ n: number }, number>('slow', async (p, ctx) => {
    await new Promise((r) => setTimeout(r, 150));
    completions.set(ctx.jobId, (completions.get(ctx.jobId) ?? 0) + 1);
    return p.n;
  });
  await worker.start();
}, 60_000);

afterAll(async () => {
  await proxy?.restore();
  await producer?.close();
  await worker?.close();
  await proxy?.close();
  await removeBullQueue(REDIS_URL, queueName);
  await t?.close();
});

describe('Redis unavailable while jobs run', () => {
  it('enqueue fails fast while Redis is gone; queued and running jobs finish once after it is back', async () => {
    const jobs = [];
    for (let n = 0; n < 12; n++) jobs.push(await producer.enqueue('slow', { n }, { createdBy: 'faults' }));
    // Some jobs done, the rest queued or running: then Redis goes away.
    await waitFor(
      async () => {
        const rows = await t.db.selectFrom('jobs').select('status').where('status', '=', 'succeeded').execute();
        return rows.length >= 3 ? true : undefined;
      },
      { timeoutMs: 20_000, what: '3 jobs to succeed' },
    );
    await proxy.cut();

    const t0 = performance.now();
    await expect(producer.enqueue('slow', { n: 99 }, { createdBy: 'faults' })).rejects.toSatisfy(
      (e) => e instanceof QueueUnavailableError && e.details?.retryAfterSeconds === 2,
    );
    expect(performance.now() - t0).toBeLessThan(3000);
    await new Promise((r) => setTimeout(r, 2000));
    await proxy.restore();

    for (const j of jobs) expect(await waitForJob(producer, j.id, 30_000), j.id).toMatchObject({ status: 'succeeded', result: (j.payload as { n: number }).n });
    const after = await producer.enqueue('slow', { n: 100 }, { createdBy: 'faults' });
    expect(await waitForJob(producer, after.id, 20_000)).toMatchObject({ status: 'succeeded', result: 100 });
    // The enqueue refused during the outage left no row waiting for a worker that will never come.
    const stuck = await t.db.selectFrom('jobs').select(['id', 'status']).where('status', 'in', ['queued', 'running']).execute();
    expect(stuck).toEqual([]);
    expect([...jobs, after].map((j) => completions.get(j.id) ?? 0)).toEqual(Array(jobs.length + 1).fill(1));
  });
});
