// `secondread worker` without Redis: refused with a message that says what to set (exit 2, no stack).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../testing.js';

let dir: string;
const saved = { home: process.env.SECONDREAD_HOME, log: process.env.LOG_LEVEL, redis: process.env.REDIS_URL };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sr-cli-worker-'));
  process.env.SECONDREAD_HOME = join(dir, 'home');
  process.env.LOG_LEVEL = 'silent';
  delete process.env.REDIS_URL;
});
afterAll(async () => {
  for (const [k, v] of [
    ['SECONDREAD_HOME', saved.home],
    ['LOG_LEVEL', saved.log],
    ['REDIS_URL', saved.redis],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await rm(dir, { recursive: true, force: true });
});

describe('secondread worker', () => {
  it('needs REDIS_URL and says so', async () => {
    const r = await runCli('worker');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error: secondread worker takes jobs from Redis: set REDIS_URL/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('rejects a bad --concurrency before connecting to anything', async () => {
    const r = await runCli('worker', '--concurrency', '0');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--concurrency.*integer from 1 to 64/);
  });
});
