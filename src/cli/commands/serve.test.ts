// `secondread serve` as a real process: it composes everything from SECONDREAD_HOME, preloads the
// production model, serves predictions, and on SIGTERM finishes the request it is holding (here
// waiting in the batcher's queue) before it exits 0.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { multipartBody } from '../../api/testing/http.js';
import { loadConfig } from '../../core/config.js';
import { grayPng } from '../../data/images/testing.js';
import { migrateToLatest, openDatabase } from '../../storage/db.js';
import { openObjectStore } from '../../storage/open-object-store.js';
import { ModelRegistry, Tracker } from '../../tracking/index.js';
import { finishedRunWithModel } from '../../tracking/testing.js';
import { UserStore } from '../../workflow/users.js';
import { runCli } from '../testing.js';
import { batchingOptions, parsePreload } from './serve.js';

const BIN = resolve(import.meta.dirname, '../../../bin/secondread.js');
let dir: string;
let token: string;
let adjudicatorToken: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sr-serve-'));
  const config = loadConfig({ env: { SECONDREAD_HOME: join(dir, 'home') } });
  const db = openDatabase(config.database);
  await migrateToLatest(db);
  const objects = openObjectStore(config.objectStore);
  const tracker = new Tracker(db, objects);
  const registry = new ModelRegistry(db, objects, tracker);
  await registry.register({ runId: await finishedRunWithModel(tracker), name: 'cxr', by: 'test' });
  await registry.setAlias('cxr', 'production', 1, { by: 'test', reason: 'serve test' });
  token = (await new UserStore(db).addUser({ name: 'rita', role: 'reader' })).token;
  adjudicatorToken = (await new UserStore(db).addUser({ name: 'adam', role: 'adjudicator' })).token;
  await objects.close();
  await db.destroy();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function startServer(args: string[]): { proc: ChildProcess; url: Promise<string>; stderr: () => string } {
  // The embedded default whatever the caller's environment says (no PostgreSQL, S3 or Redis).
  const env: NodeJS.ProcessEnv = { ...process.env, SECONDREAD_HOME: join(dir, 'home'), LOG_LEVEL: 'info' };
  for (const k of ['DATABASE_URL', 'OBJECT_STORE_URL', 'REDIS_URL', 'SECONDREAD_SQLITE_PATH', 'SECONDREAD_CONFIG']) delete env[k];
  const proc = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = new Promise<string>((res, rej) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving on (https?:\/\/\S+) /.exec(out);
      if (m) res(m[1]!);
    });
    proc.once('exit', (code) => rej(new Error(`serve exited (${code}) before listening: ${err.slice(-2000)}`)));
  });
  return { proc, url, stderr: () => err };
}

describe('secondread serve', () => {
  it('serves, then drains the request in flight on SIGTERM and exits 0', async () => {
    const { proc, url, stderr } = startServer(['--threads', '1', '--preload', 'cxr@production', '--max-queue-delay-us', '1500000', '--alias-poll-ms', '0']);
    try {
      const base = await url;
      const auth = { authorization: `Bearer ${token}` };
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const png = await grayPng(40, 40, (x, y) => x * 3 + y);

      // Waits ~1.5 s in the batcher for company: SIGTERM arrives while it is in flight.
      const started = Date.now();
      const inFlight = fetch(`${base}/v1/models/cxr/predict`, { method: 'POST', headers: { ...auth, 'content-type': 'image/png' }, body: png });
      await new Promise((r) => setTimeout(r, 300));
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ model: 'cxr', version: 1, route: 'production' });
      expect(Date.now() - started).toBeGreaterThan(1000);
      const [code] = await exited;
      expect(code, stderr()).toBe(0);
      expect(stderr()).toMatch(/shutdown complete/);
      await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  }, 60_000);

  it('wires the workflow: a study taken in is read by the production model through serving, and /metrics has the workflow gauges', async () => {
    const { proc, url, stderr } = startServer(['--threads', '1', '--alias-poll-ms', '0']);
    try {
      const base = await url;
      const png = await grayPng(40, 40, (x, y) => 200 - x * 2 - y);
      const mp = multipartBody([{ bytes: png }], { modality: 'cxr', priority: 'true' });
      const res = await fetch(`${base}/v1/studies`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...mp.headers }, body: mp.payload });
      expect(res.status, stderr()).toBe(201);
      const study = (await res.json()) as { id: string; blinded: boolean };
      expect(study.blinded).toBe(true);
      const adjudicator = { authorization: `Bearer ${adjudicatorToken}` };
      const seen = (await (await fetch(`${base}/v1/studies/${study.id}`, { headers: adjudicator })).json()) as {
        model: unknown;
        reads: { model: { top: unknown; predictions: unknown } };
      };
      const predicted = (await (
        await fetch(`${base}/v1/models/cxr/predict?studyId=${study.id}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'image/png' },
          body: png,
        })
      ).json()) as { top: unknown; predictions: unknown };
      expect(seen.model).toEqual({ name: 'cxr', version: 1 });
      expect(seen.reads.model).toMatchObject({ top: predicted.top, predictions: predicted.predictions });
      const metricsRes = await fetch(`${base}/metrics`, { headers: adjudicator });
      expect(metricsRes.headers.get('strict-transport-security')).toBeNull(); // plain HTTP: no HSTS
      const metrics = await metricsRes.text();
      expect(metrics).toContain('secondread_worklist_depth{worklist="A"} 1');
      expect(metrics).toContain('secondread_cost_saved_total{currency="USD"} -0.01');
      await expectCleanExit(proc, stderr);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  }, 60_000);

  it('serves HTTPS with --tls-cert/--tls-key (a self-signed certificate made here), with HSTS', async () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    selfSigned(cert, key);
    const { proc, url, stderr } = startServer(['--threads', '1', '--alias-poll-ms', '0', '--tls-cert', cert, '--tls-key', key]);
    try {
      const base = await url;
      expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await readFile(cert);
      const res = await httpsJson(`${base}/readyz`, ca);
      expect([res.status, res.body], stderr()).toEqual([200, expect.objectContaining({ status: 'ready' })]);
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      // The certificate is what the client checks: without trusting it, the connection is refused.
      await expect(httpsJson(`${base}/readyz`, undefined)).rejects.toThrow(/self-signed|self signed/);
      await expectCleanExit(proc, stderr);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses --tls-cert without --tls-key, an unreadable file and a key of another certificate (exit 2)', async () => {
    const [certA, keyA, certB, keyB] = ['a-cert.pem', 'a-key.pem', 'b-cert.pem', 'b-key.pem'].map((f) => join(dir, f)) as [string, string, string, string];
    selfSigned(certA, keyA);
    selfSigned(certB, keyB);
    for (const [args, message] of [
      [['--tls-cert', certA], /--tls-cert and --tls-key go together/],
      [['--tls-cert', join(dir, 'absent.pem'), '--tls-key', keyA], /--tls-cert: cannot read .*ENOENT/],
      [['--tls-cert', certA, '--tls-key', keyB], /not a usable certificate and key/],
    ] as const) {
      const r = await runCli('serve', ...args);
      expect([r.code, r.err], args.join(' ')).toEqual([2, expect.stringMatching(message)]);
    }
  });

  it('refuses bad flags with exit code 2 before opening anything', async () => {
    for (const [flag, value, message] of [
      ['--canary-weight', '2', /canary-weight must be a number in 0…1/],
      ['--threads', '0', /threads must be an integer/],
      ['--port', '70000', /port must be an integer/],
      ['--preload', 'a@b@c', /--preload takes/],
      ['--max-upload-mb', 'lots', /max-upload-mb/],
      ['--workflow-model', 'Bad..Name', /invalid model name/],
    ] as const) {
      const r = await runCli('serve', flag, value);
      expect([r.code, r.err], flag).toEqual([2, expect.stringMatching(message)]);
    }
  });
});

/** SIGTERM, then exit code 0 (a graceful shutdown). */
async function expectCleanExit(proc: ChildProcess, stderr: () => string): Promise<void> {
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  expect((await exited)[0], stderr()).toBe(0);
}

/** A self-signed certificate for 127.0.0.1 (one day) and its key, made by openssl. */
function selfSigned(certPath: string, keyPath: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  );
}

/** GET over HTTPS trusting `ca` (undefined: the system's CAs only). */
function httpsJson(url: string, ca: Buffer | undefined): Promise<{ status: number; headers: Record<string, unknown>; body: unknown }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }));
    }).on('error', reject);
  });
}

describe('serve flags', () => {
  it('parses preload specs and batching knobs', () => {
    expect(parsePreload('cxr')).toEqual({ name: 'cxr' });
    expect(parsePreload('cxr@canary')).toEqual({ name: 'cxr', alias: 'canary' });
    expect(parsePreload('cxr@3')).toEqual({ name: 'cxr', version: 3 });
    expect(() => parsePreload('a@b@c')).toThrow(/--preload/);
    expect(batchingOptions({ batching: true, maxBatchSize: '16', preferredBatchSizes: '4, 8', maxQueueDelayUs: '500' })).toEqual({
      maxBatchSize: 16,
      preferredBatchSizes: [4, 8],
      maxQueueDelayUs: 500,
    });
    expect(batchingOptions({ batching: false, maxBatchSize: '16' })).toEqual({ maxBatchSize: 1, preferredBatchSizes: [], maxQueueDelayUs: 0 });
    expect(() => batchingOptions({ batching: true, maxBatchSize: '0' })).toThrow(/max-batch-size/);
  });
});
