// PostgreSQL lost under load (issue 20, faults): `secondread serve` runs on PostgreSQL through a TCP proxy
// (the shared test server cannot be stopped: other tests use it). While clients send intakes and list
// studies, the proxy refuses new connections and resets the open ones, as a stopped server would.
// Every request fails fast with 503 `storage_unavailable` and a Retry-After, /readyz says not ready;
// when the proxy forwards again, the same process (no restart) answers 2xx and /readyz is ready.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { postgresUrlForTests } from '../../test/integration/helpers/postgres.js';
import { TcpProxy } from '../../test/integration/helpers/tcp-proxy.js';
import { freePort } from './testing/orthanc.js';
import { authed, postStudyHttp, type PreparedHome, prepareHome, ServeProcess, studyPng, until } from './testing/serve-process.js';

const url = await postgresUrlForTests();
const schema = `sr_test_${Date.now().toString(36)}_faults_${randomBytes(3).toString('hex')}`;

let dir: string;
let prepared: PreparedHome;
let proxy: TcpProxy;
let serve: ServeProcess | undefined;

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  if (!url) return;
  await admin(`create schema ${schema}`);
  dir = await mkdtemp(join(tmpdir(), 'sr-faults-pg-'));
  prepared = await prepareHome(join(dir, 'home'), { database: { url, schema } });
  const target = new URL(url);
  proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  const proxied = new URL(url);
  proxied.host = `127.0.0.1:${proxy.port}`;
  proxied.searchParams.set('options', `-c search_path=${schema}`);
  serve = await ServeProcess.start(await freePort(), { SECONDREAD_HOME: prepared.home, DATABASE_URL: proxied.href });
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  await proxy?.close();
  if (url) await admin(`drop schema if exists ${schema} cascade`);
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  route: string;
  status: number;
  ms: number;
  code?: string;
  retryAfter: string | null;
}

/** `workers` clients alternating intake and listing for `ms` milliseconds: every answer. */
async function load(ms: number, workers = 6): Promise<Outcome[]> {
  const out: Outcome[] = [];
  const end = Date.now() + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (Date.now() < end) {
        const t0 = performance.now();
        if ((n++ + w) % 2 === 0) {
          const r = await postStudyHttp(serve!.url, prepared.tokens.admin, await studyPng(n));
          out.push({
            route: 'POST /v1/studies',
            status: r.status,
            ms: performance.now() - t0,
            code: r.body.code as string | undefined,
            retryAfter: r.retryAfter,
          });
        } else {
          const res = await fetch(`${serve!.url}/v1/studies`, { headers: authed(prepared.tokens.admin) });
          const body = (await res.json()) as { code?: string };
          out.push({ route: 'GET /v1/studies', status: res.status, ms: performance.now() - t0, code: body.code, retryAfter: res.headers.get('retry-after') });
        }
      }
    }),
  );
  return out;
}

const readyz = async () => {
  const res = await fetch(`${serve!.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
};

describe.skipIf(!url)('PostgreSQL unavailable under load', () => {
  it('fails fast with 503 + Retry-After and not-ready while the database is gone, and recovers without a restart', async () => {
    const pid = serve!.pid;
    const healthy = await load(1500);
    expect(healthy.length).toBeGreaterThan(0);
    expect(healthy.filter((o) => o.status >= 300)).toEqual([]);

    await proxy.cut();
    const down = await load(3000);
    const summary = (os: Outcome[]) => os.map((o) => `${o.route} ${o.status} ${o.code ?? ''}`).filter((s, i, a) => a.indexOf(s) === i);
    console.log(`outage: ${down.length} requests, answers ${JSON.stringify(summary(down))}, slowest ${Math.round(Math.max(...down.map((o) => o.ms)))} ms`);
    expect(down.length).toBeGreaterThan(10);
    // Never a 500 or a hang: every request says "unavailable, retry later", quickly.
    expect(summary(down).sort()).toEqual(['GET /v1/studies 503 storage_unavailable', 'POST /v1/studies 503 storage_unavailable']);
    expect(down.every((o) => o.retryAfter !== null && Number(o.retryAfter) >= 1)).toBe(true);
    expect(Math.max(...down.map((o) => o.ms))).toBeLessThan(2000);
    const notReady = await readyz();
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ status: 'not_ready', checks: { database: 'failing' } });
    expect((await fetch(`${serve!.url}/healthz`)).status).toBe(200); // alive: no restart wanted

    await proxy.restore();
    await until(
      '/readyz to recover',
      async () => ((await readyz()).status === 200 ? true : undefined),
      15_000,
      () => serve!.log,
    );
    const recovered = await load(1500);
    expect(recovered.filter((o) => o.status >= 300)).toEqual([]);
    expect(recovered.some((o) => o.route === 'POST /v1/studies' && o.status === 201)).toBe(true);
    expect(serve!.running && serve!.pid === pid).toBe(true);
  });
});
