// The S3 endpoint lost (issue 20, faults): the S3 object store talks to an S3 protocol server through a
// TCP proxy that the test cuts and restores. While it is cut, every operation fails within seconds with
// StorageUnavailableError (503 `storage_unavailable` + Retry-After at the API), not a generic error; once
// it forwards again the same store instance works, and what was stored before the outage is intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type S3TestServer, startS3Server } from '../../test/integration/helpers/s3-server.js';
import { TcpProxy } from '../../test/integration/helpers/tcp-proxy.js';
import { StorageUnavailableError } from '../core/errors.js';
import { S3ObjectStore } from './s3-object-store.js';

let server: S3TestServer;
let proxy: TcpProxy;
let store: S3ObjectStore;

beforeAll(async () => {
  server = await startS3Server();
  const endpoint = new URL(server.endpoint);
  proxy = await TcpProxy.start({ host: endpoint.hostname, port: Number(endpoint.port) });
  endpoint.host = `127.0.0.1:${proxy.port}`;
  store = new S3ObjectStore({
    bucket: server.bucket,
    prefix: `faults-${process.pid}`,
    endpoint: endpoint.href.replace(/\/$/, ''),
    region: server.region,
    credentials: server.credentials,
    forcePathStyle: true,
    conditionalWrites: 'emulated',
  });
});
afterAll(async () => {
  await store?.close();
  await proxy?.close();
  await server?.stop();
});

describe('S3 endpoint unavailable', () => {
  it('fails fast with StorageUnavailableError while cut, and the same store recovers', async () => {
    await store.put('studies/st_a/image.png', 'before');

    await proxy.cut();
    for (const op of [
      () => store.put('studies/st_b/image.png', 'during'),
      () => store.getBytes('studies/st_a/image.png'),
      () => store.head('studies/st_a/image.png'),
    ]) {
      const t0 = performance.now();
      const err = await op().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect(err).toMatchObject({ code: 'storage_unavailable', httpStatus: 503 });
      expect(performance.now() - t0).toBeLessThan(10_000); // the SDK retries with backoff, then gives up
    }

    await proxy.restore();
    expect((await store.getBytes('studies/st_a/image.png')).toString()).toBe('before');
    await store.put('studies/st_b/image.png', 'after');
    expect((await store.getBytes('studies/st_b/image.png')).toString()).toBe('after');
  });
});
