// `secondread sweep` over two `secondread worker` processes on a real Redis: the sweep command (its own process)
// queues four trials on BullMQ, the two workers share them, every trial is a finished run in the shared home, the
// ranked table is printed, and `runs compare --experiment` reads the sweep back.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { removeBullQueue, waitFor } from '../../jobs/testing.js';
import { openTrainingFixture, type TrainingFixture } from '../../training/testing.js';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const BIN = resolve(import.meta.dirname, '../../../bin/secondread.js');

let fx: TrainingFixture;
const queueName = `sr-sweep-${randomBytes(6).toString('hex')}`;
const children: ChildProcess[] = [];

function start(args: string[]): { proc: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, SECONDREAD_HOME: fx.home, REDIS_URL, LOG_LEVEL: 'info', LOG_FORMAT: 'json', SECONDREAD_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  children.push(proc);
  return { proc, out: () => out, err: () => err, exited: new Promise((r) => proc.on('exit', (code) => r(code))) };
}

beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 10, imageSize: 40 });
}, 120_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await removeBullQueue(REDIS_URL, queueName);
  await fx?.close();
});

describe('secondread sweep over two workers (BullMQ)', () => {
  it('spreads the trials over both workers and reports them ranked', async () => {
    const workers = [start(['worker', '--queue', queueName]), start(['worker', '--queue', queueName])];
    for (const w of workers)
      await waitFor(() => (w.err().includes('worker ready') ? true : undefined), { timeoutMs: 60_000, what: `a worker to start: ${w.err()}` });
    const file = join(fx.home, 'sweep.yaml');
    await writeFile(
      file,
      `name: two-workers\nbase: { dataset: ${fx.versionId}, model: vit-tiny, epochs: 1, batch-size: 16, workers: 0, threads: 1 }\nparameters:\n  lr: { values: [0.002, 0.001] }\n  seed: { values: [1, 2] }\n`,
    );
    const sweep = start(['sweep', '--config', file, '--queue', queueName, '--json']);
    expect(await sweep.exited, sweep.err()).toBe(0);
    const report = JSON.parse(sweep.out()) as { trials: { status: string; result: { run: string; worker: string; summary: Record<string, number> } }[] };
    expect(report.trials.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const pids = new Set(report.trials.map((t) => t.result.worker.split(':')[1]));
    expect(pids).toEqual(new Set(workers.map((w) => String(w.proc.pid))));
    for (const t of report.trials) expect((await fx.tracker.getRun(t.result.run)).status).toBe('finished');

    const compare = start(['runs', 'compare', '--experiment', 'sweep-two-workers']);
    expect(await compare.exited, compare.err()).toBe(0);
    expect(compare.out()).toMatch(/two-workers-1[\s\S]*two-workers-4/);
    expect(compare.out()).toMatch(/\* lr/);

    for (const w of workers) w.proc.kill('SIGTERM');
    for (const w of workers) expect(await w.exited).toBe(0);
  }, 300_000);
});
