// Test helpers for job queues (no vitest import: usable by any tier).
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import type { Job, JobQueue, JobStatus } from './types.js';

const TERMINAL: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  o: { timeoutMs?: number; everyMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${o.what ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, o.everyMs ?? 20));
  }
}

/** Waits until the job is succeeded, failed or cancelled, and returns it. */
export function waitForJob(queue: Pick<JobQueue, 'get'>, id: string, timeoutMs = 10_000): Promise<Job> {
  return waitFor(
    async () => {
      const j = await queue.get(id);
      return j && TERMINAL.includes(j.status) ? j : undefined;
    },
    { timeoutMs, what: `job ${id} to finish` },
  );
}

/** A promise with its resolve function outside, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Deletes every key of a BullMQ queue (a test's own, uniquely named queue) from Redis. */
export async function removeBullQueue(redisUrl: string, name: string): Promise<void> {
  const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const admin = new Queue(name, { connection: conn });
  try {
    await admin.obliterate({ force: true });
  } finally {
    await admin.close();
    await conn.quit();
  }
}
