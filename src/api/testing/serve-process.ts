// `secondread serve` as a real child process for the fault and PACS end-to-end tests: a home prepared as an engineer would
// leave it (one model in production, an admin and a reader), the process started, waited for, killed
// with SIGKILL or stopped with SIGTERM, and the HTTP calls those tests make. No vitest import.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { grayPng } from '../../data/images/testing.js';
import { migrateToLatest, openDatabase } from '../../storage/db.js';
import { FsObjectStore } from '../../storage/fs-object-store.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { finishedRunWithModel } from '../../tracking/testing.js';
import { UserStore } from '../../workflow/users.js';
import { multipartBody } from './http.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FAULTS_MODEL = 'faults-cxr';

export interface PreparedHome {
  home: string;
  tokens: { admin: string; reader: string };
}

/**
 * A home with one model in production (`model`, default FAULTS_MODEL) and two users. `database`: PostgreSQL URL and schema (the
 * database serve will use); absent: the home's SQLite file. `objectsDir`: where the filesystem store lives; `objects`: the
 * store serve will use when it is not the home's filesystem store (e.g. S3; the caller closes it).
 */
export async function prepareHome(
  home: string,
  opts: { database?: { url: string; schema: string }; objectsDir?: string; objects?: ObjectStore; model?: string } = {},
): Promise<PreparedHome> {
  const model = opts.model ?? FAULTS_MODEL;
  const db = openDatabase({ sqlitePath: join(home, 'secondread.db'), url: opts.database?.url, schema: opts.database?.schema, poolSize: 2 });
  try {
    await migrateToLatest(db);
    const objects = opts.objects ?? new FsObjectStore(opts.objectsDir ?? join(home, 'objects'));
    const tracker = new Tracker(db, objects);
    const runId = await finishedRunWithModel(tracker);
    const registry = new ModelRegistry(db, objects, tracker);
    const mv = await registry.register({ runId, name: model, by: 'test' });
    await registry.setAlias(model, 'production', mv.version, { by: 'test', reason: 'integration test' });
    const users = new UserStore(db);
    const admin = (await users.addUser({ name: 'ada', role: 'admin' })).token;
    const reader = (await users.addUser({ name: 'rita', role: 'reader' })).token;
    if (!opts.objects) await objects.close();
    return { home, tokens: { admin, reader } };
  } finally {
    await db.destroy();
  }
}

export class ServeProcess {
  readonly url: string;
  log = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  private constructor(port: number, env: Record<string, string>) {
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(process.execPath, ['bin/secondread.js', 'serve', '--port', String(port)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    });
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
    };
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** Starts serve and waits until /readyz answers 200. */
  static async start(port: number, env: Record<string, string>, timeoutMs = 60_000): Promise<ServeProcess> {
    const p = new ServeProcess(port, env);
    await until(
      `secondread serve on :${port} to be ready`,
      async () => ((await fetch(`${p.url}/readyz`).catch(() => undefined))?.ok ? true : undefined),
      timeoutMs,
      () => p.log,
    );
    return p;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9: no shutdown hook runs, nothing is flushed. */
  async kill9(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.running) this.child.kill('SIGTERM');
    await this.exited;
  }
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, log: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- secondread log ---\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A small PNG that differs with `n` (so each study's image is its own). */
export function studyPng(n: number): Promise<Buffer> {
  return grayPng(24, 24, (x, y) => (x * 7 + y * 3 + n * 13) % 256);
}

/** POST /v1/studies over HTTP: the status and the JSON body (undefined when the connection died). */
export async function postStudyHttp(
  url: string,
  token: string,
  png: Uint8Array,
): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | null }> {
  const form = multipartBody([{ bytes: png }], { modality: 'cxr' });
  const res = await fetch(`${url}/v1/studies`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...form.headers }, body: form.payload });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, retryAfter: res.headers.get('retry-after') };
}

export function authed(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
