import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { jobBackend, openJobQueue } from './open.js';
import { waitForJob } from './testing.js';

let t: TestDatabase;
beforeEach(async () => {
  t = await openTestDatabase('sqlite');
});
afterEach(async () => {
  await t.close();
});

describe('openJobQueue', () => {
  it('picks BullMQ only when a Redis URL is configured', () => {
    expect(jobBackend({})).toBe('in-process');
    expect(jobBackend({ redisUrl: 'redis://127.0.0.1:6379' })).toBe('bullmq');
  });

  it('without Redis: an in-process queue that runs jobs in this process', async () => {
    const q = openJobQueue({}, { db: t.db, logger: silentLogger });
    try {
      q.register<number, number>('square', async (n) => n * n);
      await q.start();
      const job = await q.enqueue('square', 12, { createdBy: 'a' });
      expect(await waitForJob(q, job.id)).toMatchObject({ status: 'succeeded', result: 144 });
    } finally {
      await q.close();
    }
  });

  it('refuses a Redis URL of another scheme before connecting', () => {
    expect(() => openJobQueue({ redisUrl: 'http://127.0.0.1:6379' }, { db: t.db, logger: silentLogger })).toThrow(/redis:\/\//);
  });
});
