// kill -9 in the middle of an epoch, then `secondread train --resume <run>` (itself interrupted once by SIGINT,
// which checkpoints and marks the run killed, and resumed again): the run continues from its last checkpoint and
// ends with exactly one metric row per logged step and per epoch. Steps the killed process had
// already logged after its last checkpoint are replayed, and the replay logs the same values (data order,
// augmentation and dropout are functions of the seed and position, and the RNG state is in the checkpoint).
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeCheckpoint } from '../engine/index.js';
import { ARTIFACTS } from './index.js';
import { readCheckpointConfig } from './state.js';
import { openTrainingFixture, type TrainingFixture } from './testing.js';

const BIN = resolve(import.meta.dirname, '../../bin/secondread.js');
const EPOCHS = 8;

let fx: TrainingFixture;
beforeAll(async () => {
  fx = await openTrainingFixture({ perClass: 16, imageSize: 64 });
});
afterAll(async () => {
  await fx?.close();
});

function cli(args: string[]): {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
} {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, SECONDREAD_HOME: fx.home, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exit };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lastCheckpoint(runId: string) {
  const ck = decodeCheckpoint(await fx.tracker.getArtifact(runId, ARTIFACTS.last));
  return { step: ck.step, progress: readCheckpointConfig(ck.config, 'last').progress };
}

describe('secondread train: kill -9 and --resume', () => {
  it('continues from the last checkpoint with no duplicate or missing metric rows', async () => {
    const first = cli([
      'train',
      '--dataset',
      fx.versionId,
      '--model',
      'vit-tiny',
      '--size',
      '64',
      '--epochs',
      String(EPOCHS),
      '--batch-size',
      '8',
      '--checkpoint-every',
      '5',
      '--log-every',
      '1',
      '--experiment',
      'kill-test',
    ]);
    let runId = '';
    let killedAt: { step: number; epoch: number; batch: number } | undefined;
    const deadline = Date.now() + 60_000;
    while (!killedAt && Date.now() < deadline && first.child.exitCode === null) {
      await sleep(20);
      runId ||= /^run (run_\w+)$/m.exec(first.stderr())?.[1] ?? '';
      if (!runId || !(await fx.tracker.hasArtifact(runId, ARTIFACTS.last))) continue;
      const ck = await lastCheckpoint(runId);
      const logged = (await fx.tracker.metrics(runId, 'train/loss')).map((p) => p.step);
      // Kill once a checkpoint taken mid-epoch (after the first epoch) is followed by steps logged after it.
      if (ck.progress.epoch >= 1 && ck.progress.batch > 0 && Math.max(...logged) > ck.step) {
        first.child.kill('SIGKILL');
        killedAt = { step: ck.step, epoch: ck.progress.epoch, batch: ck.progress.batch };
      }
    }
    expect((await first.exit).signal, first.stderr()).toBe('SIGKILL');
    expect(killedAt).toBeDefined();
    expect((await fx.tracker.getRun(runId)).status).toBe('running');
    // The checkpoint may have advanced between the poll and the kill: read what the resume will start from.
    const resumeFrom = await lastCheckpoint(runId);
    const before = new Map((await fx.tracker.metrics(runId, 'train/loss')).map((p) => [p.step, p.value]));
    const replayed = [...before.keys()].filter((s) => s > resumeFrom.step);
    expect(resumeFrom.progress.batch).toBeGreaterThan(0); // mid-epoch
    expect(replayed.length).toBeGreaterThan(0);

    // Resume, then interrupt politely (SIGINT): it checkpoints where it is and marks the run killed.
    const second = cli(['train', '--resume', runId]);
    while (second.child.exitCode === null && Math.max(...(await fx.tracker.metrics(runId, 'train/loss')).map((p) => p.step)) <= Math.max(...before.keys()) + 2)
      await sleep(20);
    second.child.kill('SIGINT');
    expect((await second.exit).code, second.stdout() + second.stderr()).toBe(2);
    expect((await fx.tracker.getRun(runId)).status).toBe('killed');
    expect(second.stderr()).toMatch(/interrupted: checkpointed; continue with: secondread train --resume/);
    const interruptedAt = (await fx.tracker.metrics(runId, 'train/loss')).map((p) => p.step);
    expect((await lastCheckpoint(runId)).step).toBe(Math.max(...interruptedAt));

    const third = cli(['train', '--resume', runId]);
    const done = await third.exit;
    expect(done.code, third.stderr()).toBe(0);
    expect(third.stdout()).toMatch(new RegExp(`run ${runId} finished`));

    const run = await fx.tracker.getRun(runId);
    expect(run.status).toBe('finished');
    expect(run.summary!.epochs).toBe(EPOCHS);
    const steps = (await lastCheckpoint(runId)).step;
    const trainLoss = await fx.tracker.metrics(runId, 'train/loss');
    expect(trainLoss.map((p) => p.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
    expect((await fx.tracker.metrics(runId, 'val/loss')).map((p) => p.epoch)).toEqual(Array.from({ length: EPOCHS }, (_, i) => i + 1));
    expect(await fx.tracker.metrics(runId, 'test/accuracy')).toHaveLength(1);
    // The replayed steps logged what the killed process had logged for them.
    const after = new Map(trainLoss.map((p) => [p.step, p.value]));
    for (const s of replayed) expect(after.get(s)).toBeCloseTo(before.get(s)!, 5);
    // A stored row per (key, step, split) is guaranteed by the table; no key was logged twice under two splits.
    const rows = await fx.db.selectFrom('run_metrics').select(['key', 'step']).where('run_id', '=', runId).execute();
    expect(new Set(rows.map((r) => `${r.key}@${r.step}`)).size).toBe(rows.length);
  }, 120_000);
});
