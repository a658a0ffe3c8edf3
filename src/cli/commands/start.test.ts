// `secondread start`: `--no-demo` on a fresh home serves at once and creates nothing (as a real process:
// --host/--port reach serve); the summary box says where to go, who to log in as and what the demo holds.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../core/config.js';
import type { DemoSummary } from '../../demo/index.js';
import { migrateToLatest, openDatabase } from '../../storage/db.js';
import { boxed, browserUrl, formatDemoSummary } from './start.js';

const BIN = resolve(import.meta.dirname, '../../../bin/secondread.js');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sr-start-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('secondread start --no-demo', () => {
  it('serves an empty store on the given host and port and creates nothing', async () => {
    const home = join(dir, 'home');
    const env: NodeJS.ProcessEnv = { ...process.env, SECONDREAD_HOME: home, LOG_LEVEL: 'warn' };
    for (const k of ['DATABASE_URL', 'OBJECT_STORE_URL', 'REDIS_URL', 'SECONDREAD_SQLITE_PATH', 'SECONDREAD_CONFIG', 'HOST', 'PORT']) delete env[k];
    const proc = spawn(process.execPath, [BIN, 'start', '--no-demo', '--host', '127.0.0.1', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const base = await new Promise<string>((res, rej) => {
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving on (http:\/\/127\.0\.0\.1:\d+) /.exec(out);
        if (m) res(m[1]!);
      });
      proc.once('exit', (code) => rej(new Error(`start exited (${code}) before listening: ${err.slice(-2000)}`)));
    });
    try {
      expect(base).not.toMatch(/:8080$/);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(out).toMatch(/no models yet/);
      expect(out).not.toMatch(/demo/);
    } finally {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
    }
    expect(existsSync(join(home, 'demo'))).toBe(false);
    expect(existsSync(join(home, 'demo-credentials.txt'))).toBe(false);
    const db = openDatabase(loadConfig({ env: { SECONDREAD_HOME: home } }).database);
    try {
      await migrateToLatest(db);
      for (const t of ['dataset_versions', 'runs', 'registered_models', 'users', 'studies', 'policies'] as const) {
        expect(await db.selectFrom(t).selectAll().execute(), t).toEqual([]);
      }
    } finally {
      await db.destroy();
    }
  }, 120_000);
});

const SUMMARY: DemoSummary = {
  format: 1,
  store: 'sqlite:/x/secondread.db file:///x/objects',
  completedAt: '2025-01-01T00:00:00.000Z',
  options: {} as DemoSummary['options'],
  datasetVersion: 'ds-0123456789abcdef0123',
  images: { total: 900, bySplit: { train: 627, val: 183, test: 90 }, finalEval: 136 },
  runId: 'run_1',
  model: {
    name: 'cxr-oct-demo',
    version: 1,
    architecture: 'vit-small',
    inputSize: 64,
    epochs: 10,
    trainSeconds: 100,
    test: { accuracy: 0.6, count: 90 },
    val: { accuracy: 0.55, count: 95 },
    finalEval: null,
  },
  policy: { id: 'pol_1', version: 1, fittedOn: 95, maxFalseClear: 0.02, reduction: 0.25, falseClearRate: 0.012, classesCleared: 6 },
  users: [
    { name: 'reader-a', role: 'reader' },
    { name: 'reader-b', role: 'adjudicator' },
    { name: 'ml-engineer', role: 'ml-engineer' },
    { name: 'admin', role: 'admin' },
  ],
  credentialsFile: '/nonexistent/demo-credentials.txt',
  studies: { total: 27, readA: 18, byStatus: { awaiting_a: 9, awaiting_b: 12, auto_finalized: 6 } },
  steps: [],
};

describe('the demo summary', () => {
  it('shows the passwords once, then only where they are', () => {
    const creds = [
      { name: 'reader-a', role: 'reader' as const, password: 'pw-reader-a-123456' },
      { name: 'admin', role: 'admin' as const, password: 'pw-admin-123456789' },
    ];
    const first = formatDemoSummary(SUMMARY, 'http://localhost:8080', creds);
    expect(first).toContain('secondread demo is ready — open http://localhost:8080');
    expect(first).toMatch(/reader-a\s+reader\s+pw-reader-a-123456/);
    expect(first).toContain('test accuracy 60.0% on 90 images');
    expect(first).toContain('10 epochs in 100 s');
    expect(first).toContain('(chance 11.1%');
    expect(first).toContain('second-review reduction 25.0%, false-clear rate 1.2% (bound 2.0%)');
    expect(first).toContain('27 from final_eval: 9 in worklist A, 12 in worklist B, 6 auto-finalized');
    expect(first).toContain('npm start -- --no-demo');
    const later = formatDemoSummary(SUMMARY, 'http://localhost:8080');
    expect(later).not.toContain('pw-');
    expect(later).toContain('log in as reader-a, reader-b, ml-engineer, admin');
    expect(later).toContain('the credentials file is gone');
  });

  it('draws every line of the box to the same width', () => {
    const lines = boxed(['a', 'wider line — ünïcode', '']).split('\n');
    expect(new Set(lines.map((l) => [...l].length)).size).toBe(1);
  });

  it('points a browser at localhost for loopback and wildcard listeners', () => {
    expect(browserUrl('127.0.0.1', 8080)).toBe('http://localhost:8080');
    expect(browserUrl('0.0.0.0', 9000)).toBe('http://localhost:9000');
    expect(browserUrl('10.1.2.3', 80)).toBe('http://10.1.2.3:80');
    expect(browserUrl('fe80::1', 80)).toBe('http://[fe80::1]:80');
    expect(browserUrl('127.0.0.1', 0)).toMatch(/port printed below/);
  });
});
