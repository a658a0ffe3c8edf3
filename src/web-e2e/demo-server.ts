// What the browser tests and the README screenshots look at: the `npm start` demo, made by the demo bootstrap's
// own library (src/demo) in a home of their own, then served by a real `secondread start` process — the command
// `npm start` runs — on 127.0.0.1 and a free port. The bootstrap runs in this process first (with the caller's
// sizes: `start` has no flags for them), so `start` finds the demo complete and only serves it, with the web UI
// from dist/web (built here first when it is missing or stale, as `npm start`'s prestart does).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { parseCredentials } from '../demo/credentials.js';
import { DEMO_USERS, type DemoCredential, type DemoDeps, type DemoOptionsInput, demoPaths, type DemoSummary, ensureDemo } from '../demo/index.js';
import { migrateToLatest, openDatabase } from '../storage/db.js';
import { openObjectStore } from '../storage/open-object-store.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'bin/secondread.js');
const BUILD_WEB = resolve(ROOT, 'bin/build-web-if-needed.js');
/** Environment that would point `start` at another store or address than the home given. */
const FOREIGN_ENV = [
  'DATABASE_URL',
  'OBJECT_STORE_URL',
  'REDIS_URL',
  'SECONDREAD_SQLITE_PATH',
  'SECONDREAD_CONFIG',
  'HOST',
  'PORT',
  'SECONDREAD_SKIP_WEB_BUILD',
];
/** Password hashing cost of the demo users made here: cheap, the server verifies any cost it finds in the hash. */
const CHEAP_SCRYPT = { N: 1024, r: 8, p: 1 };

export type DemoUserName = (typeof DEMO_USERS)[number]['name'];

export interface DemoServer {
  /** http://127.0.0.1:<port> */
  url: string;
  home: string;
  summary: DemoSummary;
  /** The demo users' passwords, by name (read back from the home's credentials file). */
  credentials: ReadonlyMap<string, DemoCredential>;
  /** What the server printed so far (for a failure message). */
  output(): string;
  /** SIGTERM, then waits for the process to exit (SIGKILL after 15 s). */
  close(): Promise<void>;
}

/** A demo user's credential, by name (an error naming the user when the home has none). */
export function demoUser(server: DemoServer, name: string): DemoCredential {
  const c = server.credentials.get(name);
  if (!c) throw new Error(`no demo user ${name}`);
  return c;
}

export interface DemoServerOptions {
  /** SECONDREAD_HOME: a new folder gets a new demo; one with a complete demo is served as it is. */
  home: string;
  /** Sizes of a new demo (src/demo/options.ts). */
  options?: DemoOptionsInput;
  /** Runs against the store after the bootstrap and before the server starts (e.g. a fixture's policy). */
  prepare?: (deps: DemoDeps, summary: DemoSummary) => Promise<void>;
  /** The server's log level (default warn). */
  logLevel?: string;
  /** More environment for the server (e.g. SECONDREAD_WORKFLOW_DETECTOR). */
  env?: Record<string, string>;
}

/** Builds dist/web when it is missing or older than its sources (bin/build-web-if-needed.js); throws when it cannot. */
export function ensureWebBuilt(): void {
  const env = { ...process.env };
  delete env.SECONDREAD_SKIP_WEB_BUILD;
  const built = spawnSync(process.execPath, [BUILD_WEB], { cwd: ROOT, env, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`building the web UI failed (exit ${built.status}): ${`${built.stdout}${built.stderr}`.slice(-2000)}`);
  const check = spawnSync(process.execPath, [BUILD_WEB, '--check'], { cwd: ROOT, env, encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`the web UI is not built (${check.stdout.trim()}): ${built.stdout}${built.stderr}`.slice(0, 2000));
}

/** The demo in `home`: bootstrapped when new (or finished when interrupted), its summary either way. */
async function bootstrap(o: DemoServerOptions): Promise<DemoSummary> {
  const config = loadConfig({ env: { SECONDREAD_HOME: o.home } });
  const db = openDatabase(config.database);
  const objects = openObjectStore(config.objectStore);
  try {
    await migrateToLatest(db);
    const deps: DemoDeps = { config, db, objects, logger: silentLogger, scrypt: CHEAP_SCRYPT };
    const outcome = await ensureDemo(deps, { options: o.options });
    if (outcome.status === 'skipped') throw new Error(`no demo in ${o.home}: ${outcome.reason}`);
    await o.prepare?.(deps, outcome.summary);
    return outcome.summary;
  } finally {
    await objects.close();
    await db.destroy();
  }
}

async function readCredentials(home: string): Promise<Map<string, DemoCredential>> {
  const creds = parseCredentials(await readFile(demoPaths(home).credentials, 'utf8'));
  const byName = new Map(creds.map((c) => [c.name, c]));
  for (const u of DEMO_USERS) if (!byName.has(u.name)) throw new Error(`the demo credentials file of ${home} has no password for ${u.name}`);
  return byName;
}

/** Waits for `start` to print its address; rejects when it exits first or takes longer than `ms`. */
function listening(proc: ChildProcess, output: () => string, ms: number): Promise<string> {
  return new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`secondread start did not listen within ${ms / 1000} s:\n${output().slice(-3000)}`)), ms);
    const onData = () => {
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+) /.exec(output());
      if (!m) return;
      clearTimeout(timer);
      res(m[1]!);
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      rej(new Error(`secondread start exited (${code ?? signal}) before listening:\n${output().slice(-3000)}`));
    });
  });
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  try {
    await exited;
  } finally {
    clearTimeout(killer);
  }
}

export async function startDemoServer(o: DemoServerOptions): Promise<DemoServer> {
  ensureWebBuilt();
  const summary = await bootstrap(o);
  const credentials = await readCredentials(o.home);
  const env: NodeJS.ProcessEnv = { ...process.env, SECONDREAD_HOME: o.home, LOG_LEVEL: o.logLevel ?? 'warn' };
  for (const k of FOREIGN_ENV) delete env[k];
  Object.assign(env, o.env);
  const proc = spawn(process.execPath, [BIN, 'start', '--host', '127.0.0.1', '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const collect = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  try {
    const url = await listening(proc, () => out, 90_000);
    return { url, home: o.home, summary, credentials, output: () => out, close: () => stop(proc) };
  } catch (err) {
    await stop(proc);
    throw err;
  }
}
