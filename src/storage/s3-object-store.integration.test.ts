// S3ObjectStore against a real S3-protocol server (s3rver, started on loopback by this test).
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ConditionalPutProxy, startConditionalPutProxy } from '../../test/integration/helpers/conditional-put-proxy.js';
import { collect, describeObjectStoreContract, keysOf } from '../../test/integration/helpers/object-store-contract.js';
import { type S3TestServer, startS3Server } from '../../test/integration/helpers/s3-server.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.js';

const MIB = 1024 * 1024;
let server: S3TestServer;
let proxy: ConditionalPutProxy;
let prefixes = 0;

beforeAll(async () => {
  server = await startS3Server();
  proxy = await startConditionalPutProxy(server.endpoint);
});
afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

/** A store on its own prefix of the shared bucket, so tests never see each other's objects. */
function storeFor(opts: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  return new S3ObjectStore({
    bucket: server.bucket,
    prefix: `t${process.pid}-${++prefixes}`,
    endpoint: server.endpoint,
    region: server.region,
    credentials: server.credentials,
    forcePathStyle: true,
    // s3rver ignores If-None-Match on writes: the contract runs with the documented emulation.
    conditionalWrites: 'emulated',
    ...opts,
  });
}

describeObjectStoreContract('S3 (s3rver)', async () => storeFor(), { atomicCreate: false, byteOrderAcrossSlash: false });

/** `total` pseudo-random bytes in 1 MiB chunks, hashed as they are produced. */
function generated(total: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let left = total;
  const stream = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const chunk = randomBytes(Math.min(MIB, left));
      left -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

// A real gc() (the test runner does not expose it): samples after a collection measure live
// memory, not garbage that V8 has not collected yet.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Peak live heap + ArrayBuffer memory while `fn` runs, over the level before it, sampled after gc(). */
async function peakLiveMemoryGrowth<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const live = (): number => {
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const start = live();
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, live())), 50);
  try {
    const result = await fn();
    return { result, growth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

describe('S3ObjectStore on s3rver', () => {
  it('streams a 50 MB object in (multipart) and out, intact, without holding it in memory', async () => {
    // Straight to s3rver: the in-process proxy would copy every part and blur the measurement.
    const store = storeFor({ partSize: 5 * MIB, queueSize: 1 });
    try {
      const size = 50 * MIB;
      const body = generated(size);
      const put = await peakLiveMemoryGrowth(() => store.put('big/blob.bin', body.stream, { contentType: 'application/octet-stream' }));
      expect(put.result.size).toBe(size);
      expect((await store.head('big/blob.bin'))?.size).toBe(size);

      const got = await peakLiveMemoryGrowth(async () => {
        const hash = createHash('sha256');
        let n = 0;
        for await (const chunk of await store.get('big/blob.bin')) {
          hash.update(chunk as Buffer);
          n += (chunk as Buffer).length;
        }
        return { n, digest: hash.digest('hex') };
      });
      expect(got.result).toEqual({ n: size, digest: body.digest() });
      // Parts being assembled and in flight (about 2 × partSize here, plus SDK copies) bound memory,
      // not the object size; measured 20–26 MiB for the put, 2–20 MiB for the get (socket buffers fill
      // up when the consumer is slowed by a loaded machine). Buffering the whole object would exceed
      // both bounds.
      console.info(`50 MB object: peak live memory growth put ${(put.growth / MIB).toFixed(1)} MiB, get ${(got.growth / MIB).toFixed(1)} MiB`);
      expect(put.growth).toBeLessThan(size * 0.75);
      expect(got.growth).toBeLessThan(size * 0.6);
    } finally {
      await store.close();
    }
  });

  it('a stream that fails after several parts aborts the multipart upload: no object', async () => {
    const store = storeFor({ partSize: 5 * MIB });
    try {
      let sent = 0;
      const body = new Readable({
        read() {
          if (sent >= 12 * MIB) return void this.destroy(new Error('client went away'));
          sent += MIB;
          this.push(Buffer.alloc(MIB, 1));
        },
      });
      await expect(store.put('broken/big', body)).rejects.toThrow(/client went away/);
      expect(await store.head('broken/big')).toBeUndefined();
      expect(await keysOf(store)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('lists 1 200 keys across many pages (page size 100), in order, filtered by prefix', async () => {
    const store = storeFor({ endpoint: proxy.endpoint, listPageSize: 100 });
    try {
      const keys = Array.from({ length: 1200 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 24) await Promise.all(keys.slice(i, i + 24).map((k) => store.put(k, k)));
      await store.put('other/x', 'x');
      const before = proxy.requests.length;
      const listed = await collect(store.list('many/'));
      expect(listed.map((o) => o.key)).toEqual(keys);
      expect(listed.every((o) => o.size === 9)).toBe(true);
      const pages = proxy.requests.slice(before).filter((r) => r.startsWith('GET ') && r.split(/[ &]/).includes('list-type'));
      expect(pages).toHaveLength(12);
      expect(pages.filter((r) => r.split(/[ &]/).includes('continuation-token'))).toHaveLength(11);
      expect(await keysOf(store, 'many/11')).toEqual(keys.slice(1100, 1200));
      expect((await keysOf(store)).length).toBe(1201);
    } finally {
      await store.close();
    }
  });

  it('head/delete/NotFound carry metadata and the typed errors', async () => {
    const store = storeFor();
    try {
      await store.put('h/x.json', '{"a":1}', { contentType: 'application/json' });
      const info = await store.head('h/x.json');
      expect(info).toMatchObject({ key: 'h/x.json', size: 7, contentType: 'application/json' });
      expect(info?.etag).toBe(createHash('md5').update('{"a":1}').digest('hex'));
      expect(info?.lastModified).toBeInstanceOf(Date);
      await store.delete('h/x.json');
      expect(await store.head('h/x.json')).toBeUndefined();
      await expect(store.get('h/x.json')).rejects.toBeInstanceOf(NotFoundError);
      expect(store.describe()).toMatch(/^s3:\/\/secondread-test\/t\d+-\d+$/);
    } finally {
      await store.close();
    }
  });

  it("fails with a StorageError naming the cause when the bucket doesn't exist", async () => {
    const store = storeFor({ bucket: 'no-such-bucket' });
    try {
      await expect(store.put('x', 'x')).rejects.toMatchObject({ code: 'storage_error', message: expect.stringMatching(/NoSuchBucket/) });
      await expect(collect(store.list(''))).rejects.toMatchObject({ code: 'storage_error' });
    } finally {
      await store.close();
    }
  });

  describe('native conditional writes (If-None-Match: *)', () => {
    it('sends If-None-Match and maps 412 to ConflictError, for single-part and multipart puts', async () => {
      const store = storeFor({ endpoint: proxy.endpoint, conditionalWrites: 'native', partSize: 5 * MIB });
      try {
        await store.put('c/small', 'first', { ifNotExists: true });
        await expect(store.put('c/small', 'second', { ifNotExists: true })).rejects.toBeInstanceOf(ConflictError);
        expect((await store.getBytes('c/small')).toString()).toBe('first');

        const big = (): Readable => Readable.from(Array.from({ length: 11 }, () => Buffer.alloc(MIB, 3)));
        const before = proxy.requests.length;
        expect((await store.put('c/big', big(), { ifNotExists: true })).size).toBe(11 * MIB);
        // Multipart: create, three 5 MiB-or-less parts, complete (s3rver's ETags don't show it).
        const ops = proxy.requests.slice(before);
        const count = (method: string, param: string): number => ops.filter((r) => r.startsWith(`${method} `) && r.split(/[ &]/).includes(param)).length;
        expect({ create: count('POST', 'uploads'), parts: count('PUT', 'partNumber'), complete: count('POST', 'uploadId') }, ops.join(', ')).toEqual({
          create: 1,
          parts: 3,
          complete: 1,
        });
        await expect(store.put('c/big', big(), { ifNotExists: true })).rejects.toBeInstanceOf(ConflictError);
        expect(proxy.conditionalWrites).toBe(4);

        await store.put('c/small', 'overwrite'); // no condition: plain overwrite
        expect((await store.getBytes('c/small')).toString()).toBe('overwrite');
        expect(proxy.conditionalWrites).toBe(4);
      } finally {
        await store.close();
      }
    });
  });
});
