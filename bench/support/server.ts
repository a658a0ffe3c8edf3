// What the server benchmarks share: a home with a random vit-small registered and promoted to production plus
// an admin token, and `secondread serve` (or a peer) as a child process that is waited for and stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SECONDREAD_CLASSES } from '../../src/data/classes.js';
import { preprocessImage } from '../../src/data/images/preprocess.js';
import { vitConfig } from '../../src/models/vit.js';
import { migrateToLatest, openDatabase } from '../../src/storage/db.js';
import { FsObjectStore } from '../../src/storage/fs-object-store.js';
import { ModelRegistry, Tracker } from '../../src/tracking/index.js';
import { tinyVitOnnx } from '../../src/tracking/testing.js';
import { UserStore } from '../../src/workflow/users.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A random vit-small (64×64×1; speed does not depend on the weights) exported by the engine, registered as `name` and promoted to production; plus an admin token. */
export async function prepareBenchStore(home: string, o: { name: string; experiment: string; threads: number }): Promise<{ token: string; onnx: Uint8Array }> {
  const db = openDatabase({ sqlitePath: join(home, 'secondread.db') });
  await migrateToLatest(db);
  const objects = new FsObjectStore(join(home, 'objects'));
  try {
    // Untrained weights: serving speed does not depend on them.
    const exported = tinyVitOnnx({ variant: 'vit-small', classes: SECONDREAD_CLASSES, seed: 7, mean: 0.5, std: 0.25 });
    const tracker = new Tracker(db, objects);
    const run = await tracker.startRun({ experiment: o.experiment, params: { model: 'vit-small', threads: o.threads } });
    await tracker.putArtifact(run.id, 'model.onnx', exported.bytes);
    await tracker.finishRun(run.id, 'finished');
    const registry = new ModelRegistry(db, objects, tracker);
    const mv = await registry.register({ runId: run.id, name: o.name, by: 'bench' });
    await registry.setAlias(o.name, 'production', mv.version, { by: 'bench', reason: 'benchmark' });
    const { token } = await new UserStore(db).addUser({ name: 'bench', role: 'admin' });
    return { token, onnx: exported.bytes };
  } finally {
    await objects.close();
    await db.destroy();
  }
}

/** The embedded default on `home` whatever the caller's environment says (no PostgreSQL, S3 or Redis). */
export function embeddedEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SECONDREAD_HOME: home, LOG_LEVEL: 'warn' };
  for (const k of ['DATABASE_URL', 'OBJECT_STORE_URL', 'REDIS_URL', 'SECONDREAD_SQLITE_PATH', 'SECONDREAD_CONFIG']) delete env[k];
  return env;
}

export function startProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; log: () => string } {
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, log: () => out };
}

export async function waitFor(url: string, child: ChildProcess, log: () => string, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${log()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server did not become ready at ${url} within ${timeoutMs / 1000} s:\n${log()}`);
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
}

/** Nearest-rank percentile of an ascending list (NaN when empty). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** KServe v2 JSON requests carrying each image already preprocessed the benchmark model's way (what a Triton client sends). */
export async function tensorBodies(images: readonly Uint8Array[]): Promise<Buffer[]> {
  const size = vitConfig('vit-small').imageSize;
  return Promise.all(
    images.map(async (png) => {
      const pixels = await preprocessImage(png, size);
      const data = Array.from(pixels, (v) => Math.round(((v / 255 - 0.5) / 0.25) * 1e4) / 1e4);
      return Buffer.from(JSON.stringify({ inputs: [{ name: 'images', shape: [1, 1, size, size], datatype: 'FP32', data }] }));
    }),
  );
}
