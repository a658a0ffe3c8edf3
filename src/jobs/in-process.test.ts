import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { NotFoundError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { JobQueueClosedError, UnknownJobKindError } from './errors.js';
import { createInProcessQueue, type InProcessQueueOptions } from './in-process.js';
import { gate, waitFor, waitForJob } from './testing.js';
import type { JobQueue } from './types.js';

let t: TestDatabase;
let queues: JobQueue[];
beforeEach(async () => {
  t = await openTestDatabase('sqlite');
  queues = [];
});
afterEach(async () => {
  for (const q of queues) await q.close();
  await t.close();
});

function queue(o: Partial<InProcessQueueOptions> = {}): JobQueue {
  const q = createInProcessQueue({ db: t.db, logger: silentLogger, pollMs: 20, heartbeatMs: 20, staleMs: 200, shutdownGraceMs: 100, ...o });
  queues.push(q);
  return q;
}

async function insertOrphan(o: { id: string; attempts: number; heartbeatAt: string | null }): Promise<void> {
  await t.db
    .insertInto('jobs')
    .values({
      id: o.id,
      kind: 'echo',
      payload_json: JSON.stringify({ n: 7 }),
      status: 'running',
      progress: 0.4,
      result_json: null,
      error_json: null,
      attempts: o.attempts,
      created_by: 'alice',
      created_at: '2024-01-01T00:00:00.000Z',
      started_at: '2024-01-01T00:00:01.000Z',
      finished_at: null,
      locked_by: 'dead-host:1:cafe',
      heartbeat_at: o.heartbeatAt,
    })
    .execute();
}

describe('in-process job queue', () => {
  it('runs a job, stores its progress and result', async () => {
    const q = queue();
    const hold = gate();
    const ids: string[] = [];
    q.register<{ n: number }, { doubled: number }>('echo', async (p, ctx) => {
      ids.push(ctx.jobId);
      await ctx.progress(0.5);
      await hold.promise;
      return { doubled: p.n * 2 };
    });
    await q.start();
    const job = await q.enqueue('echo', { n: 21 }, { createdBy: 'alice' });
    expect(job).toMatchObject({ kind: 'echo', status: 'queued', payload: { n: 21 }, attempts: 0, createdBy: 'alice', result: null });
    const mid = await waitFor(async () => ((await q.get(job.id))?.progress === 0.5 ? q.get(job.id) : undefined));
    expect(mid).toMatchObject({ status: 'running', attempts: 1, finishedAt: null });
    hold.open();
    const done = await waitForJob(q, job.id);
    expect(done).toMatchObject({ status: 'succeeded', progress: 1, result: { doubled: 42 }, error: null, attempts: 1 });
    expect(done.startedAt! <= done.finishedAt!).toBe(true);
    expect(ids).toEqual([job.id]);
    expect(await q.get('job_nope')).toBeNull();
  });

  it('records a failure as {code, message} without a stack', async () => {
    const q = queue();
    q.register('typed', async () => {
      throw new NotFoundError('model', 'cxr');
    });
    q.register('plain', async () => {
      throw new TypeError('x is not a function\n    at handler (/src/secret.ts:1:1)');
    });
    await q.start();
    const a = await waitForJob(q, (await q.enqueue('typed', {}, { createdBy: 'a' })).id);
    const b = await waitForJob(q, (await q.enqueue('plain', {}, { createdBy: 'a' })).id);
    expect(a).toMatchObject({ status: 'failed', error: { code: 'not_found', message: "model 'cxr' was not found" }, result: null });
    expect(b).toMatchObject({ status: 'failed', error: { code: 'job_failed', message: 'x is not a function' } });
    const raw = await t.db.selectFrom('jobs').select('error_json').execute();
    for (const r of raw) expect(r.error_json).not.toMatch(/\bat .*:\d+:\d+|secret\.ts/);
  });

  it('refuses unknown kinds, bad payloads and enqueues after close', async () => {
    const q = queue();
    q.register('echo', async () => null);
    expect(() => q.register('echo', async () => null)).toThrow(/already registered/);
    expect(() => q.register('Bad Kind', async () => null)).toThrow(/invalid job kind/);
    await expect(q.enqueue('other', {}, { createdBy: 'a' })).rejects.toBeInstanceOf(UnknownJobKindError);
    await expect(q.enqueue('echo', { n: 1n }, { createdBy: 'a' })).rejects.toThrow(/not JSON-serializable/);
    await expect(q.enqueue('echo', {}, { createdBy: '' })).rejects.toThrow(/createdBy/);
    await q.close();
    await expect(q.enqueue('echo', {}, { createdBy: 'a' })).rejects.toBeInstanceOf(JobQueueClosedError);
  });

  it('runs at most `concurrency` jobs at once', async () => {
    const q = queue({ concurrency: 2 });
    let now = 0;
    let peak = 0;
    q.register('slow', async () => {
      peak = Math.max(peak, ++now);
      await new Promise((r) => setTimeout(r, 40));
      now--;
      return null;
    });
    await q.start();
    const jobs = await Promise.all(Array.from({ length: 5 }, () => q.enqueue('slow', {}, { createdBy: 'a' })));
    for (const j of jobs) expect((await waitForJob(q, j.id)).status).toBe('succeeded');
    expect(peak).toBe(2);
  });

  it('two queues on one DB run each job exactly once', async () => {
    const runs = new Map<string, number>();
    const handler = async (p: { i: number }) => {
      runs.set(String(p.i), (runs.get(String(p.i)) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 5));
      return p.i;
    };
    const a = queue({ concurrency: 2 });
    const b = queue({ db: t.openAnother(), concurrency: 2 });
    a.register('n', handler);
    b.register('n', handler);
    const jobs = [];
    for (let i = 0; i < 12; i++) jobs.push(await a.enqueue('n', { i }, { createdBy: 'a' }));
    await Promise.all([a.start(), b.start()]);
    for (const j of jobs) expect((await waitForJob(a, j.id)).status).toBe('succeeded');
    expect([...runs.values()]).toEqual(new Array(12).fill(1));
  });

  it('re-queues a job left running by a dead process, and gives up after maxAttempts', async () => {
    await insertOrphan({ id: 'job_orphan', attempts: 1, heartbeatAt: '2024-01-01T00:00:02.000Z' });
    await insertOrphan({ id: 'job_hopeless', attempts: 3, heartbeatAt: '2024-01-01T00:00:02.000Z' });
    const seen: number[] = [];
    const q = queue({ maxAttempts: 3 });
    q.register<{ n: number }, number>('echo', async (p) => {
      seen.push(p.n);
      return p.n + 1;
    });
    await q.start();
    expect(await waitForJob(q, 'job_orphan')).toMatchObject({ status: 'succeeded', result: 8, attempts: 2 });
    expect(await waitForJob(q, 'job_hopeless')).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'worker_lost' } });
    expect(seen).toEqual([7]);
  });

  it('does not steal a job whose worker is alive and heart-beating', async () => {
    const hold = gate();
    let starts = 0;
    const handler = async () => {
      starts++;
      await hold.promise;
      return 'ok';
    };
    const a = queue();
    a.register('long', handler);
    await a.start();
    const job = await a.enqueue('long', {}, { createdBy: 'a' });
    await waitFor(async () => ((await a.get(job.id))?.status === 'running' ? true : undefined));
    const b = queue({ db: t.openAnother() });
    b.register('long', handler);
    await b.start();
    await new Promise((r) => setTimeout(r, 500)); // 2.5 stale windows
    expect(await b.get(job.id)).toMatchObject({ status: 'running', attempts: 1 });
    hold.open();
    expect(await waitForJob(a, job.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(starts).toBe(1);
  });

  it('close() lets short jobs finish and hands long ones back without counting the attempt', async () => {
    const aborted: unknown[] = [];
    const a = queue({ shutdownGraceMs: 50 });
    a.register('long', async (_p, ctx) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      aborted.push(ctx.signal.reason);
      throw ctx.signal.reason;
    });
    await a.start();
    const job = await a.enqueue('long', {}, { createdBy: 'a' });
    await waitFor(async () => ((await a.get(job.id))?.status === 'running' ? true : undefined));
    await a.close();
    expect(aborted[0]).toBeInstanceOf(JobQueueClosedError);
    expect(await a.get(job.id)).toMatchObject({ status: 'queued', attempts: 0, error: null });

    const b = queue();
    b.register('long', async () => 'done');
    await b.start();
    expect(await waitForJob(b, job.id)).toMatchObject({ status: 'succeeded', result: 'done', attempts: 1 });
  });

  it('a progress outside 0…1 is clamped, a non-number fails the job', async () => {
    const q = queue();
    const seen: number[] = [];
    q.register('p', async (_x, ctx) => {
      await ctx.progress(7);
      seen.push((await q.get(jobId))!.progress);
      await ctx.progress(Number.NaN);
      return null;
    });
    await q.start();
    const jobId = (await q.enqueue('p', {}, { createdBy: 'a' })).id;
    expect(await waitForJob(q, jobId)).toMatchObject({ status: 'failed', error: { code: 'invalid_input' } });
    expect(seen).toEqual([1]);
  });
});
