// The ObjectStore contract as one test suite, run against every backend (filesystem in the unit
// tier, S3 in the integration tier) so both keep the same semantics.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ConflictError, NotFoundError, ValidationError } from '../../../src/core/errors.js';
import type { ObjectInfo, ObjectStore } from '../../../src/storage/object-store.js';

export interface ContractOptions {
  /** Whether two racing `ifNotExists` puts are guaranteed to produce exactly one winner. */
  atomicCreate: boolean;
  /**
   * Whether list() follows byte order across '/' (S3, MinIO, the filesystem store). s3rver walks
   * its directory tree instead and lists 'a/b' before 'a-c'.
   */
  byteOrderAcrossSlash: boolean;
}

export async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of it) out.push(o);
  return out;
}

export async function keysOf(store: ObjectStore, prefix = ''): Promise<string[]> {
  return (await collect(store.list(prefix))).map((o) => o.key);
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A stream that yields `good` chunks of 64 KiB and then fails, like a dropped upload. */
export function failingStream(good: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent++ < good) this.push(Buffer.alloc(65536, sent));
      else this.destroy(new Error('client went away'));
    },
  });
}

export function describeObjectStoreContract(name: string, open: () => Promise<ObjectStore>, opts: ContractOptions): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('round-trips bytes, strings and streams', async () => {
      const bytes = Uint8Array.from([0, 1, 2, 255]);
      const info = await store.put('a/bytes.bin', bytes, { contentType: 'application/octet-stream' });
      expect(info).toMatchObject({ key: 'a/bytes.bin', size: 4 });
      expect([...(await store.getBytes('a/bytes.bin'))]).toEqual([0, 1, 2, 255]);

      await store.put('a/text.txt', 'héllo');
      expect((await store.getBytes('a/text.txt')).toString('utf8')).toBe('héllo');
      expect((await store.head('a/text.txt'))?.size).toBe(Buffer.byteLength('héllo'));

      const chunks = [Buffer.alloc(100_000, 7), Buffer.alloc(3, 9)];
      expect((await store.put('a/stream.bin', Readable.from(chunks))).size).toBe(100_003);
      const back = await readAll(await store.get('a/stream.bin'));
      expect(sha256(back)).toBe(sha256(Buffer.concat(chunks)));
    });

    it('stores empty objects and non-ASCII keys', async () => {
      await store.put('empty', new Uint8Array(0));
      expect((await store.head('empty'))?.size).toBe(0);
      expect((await store.getBytes('empty')).length).toBe(0);
      await store.put('données/çà ü.png', 'x');
      expect(await keysOf(store, 'données/')).toEqual(['données/çà ü.png']);
    });

    it('overwrites an existing key by default', async () => {
      await store.put('k', 'one');
      await store.put('k', 'two');
      expect((await store.getBytes('k')).toString()).toBe('two');
    });

    it('reports absent keys: head → undefined, get/getBytes → NotFoundError', async () => {
      expect(await store.head('nope/x')).toBeUndefined();
      await expect(store.get('nope/x')).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.getBytes('nope/x')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('lists by prefix in byte order, across nesting levels', async () => {
      const keys = ['b', 'a/b', 'a-c', 'a/c/d', 'a/c/e', 'ab', 'x/y/z', 'a/c0'];
      for (const k of keys) await store.put(k, k);
      const all = ['a-c', 'a/b', 'a/c/d', 'a/c/e', 'a/c0', 'ab', 'b', 'x/y/z'];
      if (opts.byteOrderAcrossSlash) expect(await keysOf(store)).toEqual(all);
      else expect((await keysOf(store)).sort()).toEqual(all);
      expect(await keysOf(store, 'a/')).toEqual(['a/b', 'a/c/d', 'a/c/e', 'a/c0']);
      expect(await keysOf(store, 'a/c')).toEqual(['a/c/d', 'a/c/e', 'a/c0']);
      expect(await keysOf(store, 'a/c/')).toEqual(['a/c/d', 'a/c/e']);
      const underA = ['a-c', 'a/b', 'a/c/d', 'a/c/e', 'a/c0', 'ab'];
      if (opts.byteOrderAcrossSlash) expect(await keysOf(store, 'a')).toEqual(underA);
      else expect((await keysOf(store, 'a')).sort()).toEqual(underA);
      expect(await keysOf(store, 'x/y/z')).toEqual(['x/y/z']);
      expect(await keysOf(store, 'zzz/')).toEqual([]);
      const infos = await collect(store.list('a/c/'));
      expect(infos.map((o) => o.size)).toEqual([5, 5]);
    });

    it('deletes idempotently', async () => {
      await store.put('d/x', 'x');
      await store.delete('d/x');
      await store.delete('d/x');
      await store.delete('never/existed');
      expect(await store.head('d/x')).toBeUndefined();
      expect(await keysOf(store, 'd/')).toEqual([]);
    });

    it('ifNotExists creates once, then fails with ConflictError and keeps the first body', async () => {
      await store.put('once', 'first', { ifNotExists: true });
      await expect(store.put('once', 'second', { ifNotExists: true })).rejects.toBeInstanceOf(ConflictError);
      expect((await store.getBytes('once')).toString()).toBe('first');
    });

    it.skipIf(!opts.atomicCreate)('ifNotExists: of racing creators exactly one wins', async () => {
      for (let round = 0; round < 5; round++) {
        const key = `race/${round}`;
        const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => store.put(key, `writer ${i}`, { ifNotExists: true })));
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
        expect((await store.getBytes(key)).toString()).toBe(`writer ${won[0]}`);
      }
    });

    it('a body that fails halfway leaves no object behind', async () => {
      await expect(store.put('broken/x', failingStream(3))).rejects.toThrow();
      expect(await store.head('broken/x')).toBeUndefined();
      expect(await keysOf(store)).toEqual([]);
    });

    it('rejects invalid keys with ValidationError on every operation', async () => {
      for (const key of ['', '/abs', '../escape', 'a/../../b', 'a//b', 'a\\b', 'a\u0000b', '.tmp/x']) {
        await expect(store.put(key, 'x')).rejects.toBeInstanceOf(ValidationError);
        await expect(store.get(key)).rejects.toBeInstanceOf(ValidationError);
        await expect(store.head(key)).rejects.toBeInstanceOf(ValidationError);
        await expect(store.delete(key)).rejects.toBeInstanceOf(ValidationError);
      }
      await expect(collect(store.list('../'))).rejects.toBeInstanceOf(ValidationError);
    });
  });
}
