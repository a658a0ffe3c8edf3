// Redis and the S3 endpoint lost (issue 20, faults): `secondread serve` runs on S3 (s3rver) and Redis (BullMQ jobs,
// shared login limits), each reached through a TCP proxy the test cuts and restores (the shared Redis cannot be
// stopped: other tests use it). While either is cut /readyz answers 503 + Retry-After naming the dependency — a load
// balancer stops sending traffic — and /healthz stays 200 (no restart wanted); once it forwards again the same
// process is ready again. Intake while S3 is gone fails fast with 503 `storage_unavailable`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type S3TestServer, startS3Server } from '../../test/integration/helpers/s3-server.js';
import { TcpProxy } from '../../test/integration/helpers/tcp-proxy.js';
import { S3ObjectStore } from '../storage/s3-object-store.js';
import { freePort } from './testing/orthanc.js';
import { postStudyHttp, type PreparedHome, prepareHome, ServeProcess, studyPng, until } from './testing/serve-process.js';

const REDIS_URL = process.env.TEST_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const PREFIX = `readyz-${process.pid}`;

let dir: string;
let s3: S3TestServer;
let s3Proxy: TcpProxy;
let redisProxy: TcpProxy;
let prepared: PreparedHome;
let serve: ServeProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sr-faults-readyz-'));
  s3 = await startS3Server();
  const direct = new S3ObjectStore({
    bucket: s3.bucket,
    prefix: PREFIX,
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: s3.credentials,
    forcePathStyle: true,
    conditionalWrites: 'emulated',
  });
  try {
    prepared = await prepareHome(join(dir, 'home'), { objects: direct });
  } finally {
    await direct.close();
  }
  s3Proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(s3.endpoint).port) });
  const redis = new URL(REDIS_URL);
  redisProxy = await TcpProxy.start({ host: redis.hostname, port: Number(redis.port || 6379) });
  redis.host = `127.0.0.1:${redisProxy.port}`;
  serve = await ServeProcess.start(await freePort(), {
    SECONDREAD_HOME: prepared.home,
    OBJECT_STORE_URL: `s3://${s3.bucket}/${PREFIX}?conditional-writes=emulated`,
    S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}`,
    AWS_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    REDIS_URL: redis.href,
  });
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  await s3Proxy?.close();
  await redisProxy?.close();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function readyz(): Promise<{ status: number; retryAfter: string | null; checks: Record<string, string> }> {
  const res = await fetch(`${serve!.url}/readyz`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), checks: ((await res.json()) as { checks: Record<string, string> }).checks };
}

const ready = () =>
  until(
    '/readyz to answer 200',
    async () => ((await readyz()).status === 200 ? true : undefined),
    20_000,
    () => serve!.log,
  );

describe('/readyz follows Redis and the S3 endpoint', () => {
  it('is ready with both up and names each dependency', async () => {
    expect(await readyz()).toEqual({
      status: 200,
      retryAfter: null,
      checks: { database: 'ok', serving: 'ok', server: 'ok', objects: 'ok', redis: 'ok' },
    });
    expect((await postStudyHttp(serve!.url, prepared.tokens.admin, await studyPng(1))).status).toBe(201);
  });

  it('S3 cut: 503 + Retry-After with objects failing, intake fails fast with storage_unavailable; ready again once restored', async () => {
    const pid = serve!.pid;
    await s3Proxy.cut();
    const t0 = performance.now();
    const down = await readyz();
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(down).toMatchObject({ status: 503, checks: { objects: 'failing', redis: 'ok', database: 'ok' } });
    expect(Number(down.retryAfter)).toBeGreaterThanOrEqual(1);
    const intake = await postStudyHttp(serve!.url, prepared.tokens.admin, await studyPng(2));
    expect([intake.status, intake.body.code]).toEqual([503, 'storage_unavailable']);
    expect((await fetch(`${serve!.url}/healthz`)).status).toBe(200);

    await s3Proxy.restore();
    await ready();
    expect((await postStudyHttp(serve!.url, prepared.tokens.admin, await studyPng(3))).status).toBe(201);
    expect(serve!.running && serve!.pid === pid).toBe(true);
  });

  it('Redis cut: 503 + Retry-After with redis failing; ready again once restored, without a restart', async () => {
    const pid = serve!.pid;
    await redisProxy.cut();
    const t0 = performance.now();
    const down = await readyz();
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(down).toMatchObject({ status: 503, checks: { redis: 'failing', objects: 'ok', database: 'ok' } });
    expect(Number(down.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${serve!.url}/healthz`)).status).toBe(200);

    await redisProxy.restore();
    await ready();
    expect(serve!.running && serve!.pid === pid).toBe(true);
  });
});
