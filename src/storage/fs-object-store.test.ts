import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { describeObjectStoreContract, failingStream, keysOf } from '../../test/integration/helpers/object-store-contract.js';
import { ConflictError, StorageFullError } from '../core/errors.js';
import { FsObjectStore, objectStoreError } from './fs-object-store.js';

const roots: string[] = [];
async function freshStore(): Promise<FsObjectStore> {
  const root = await mkdtemp(join(tmpdir(), 'secondread-fs-store-'));
  roots.push(root);
  return new FsObjectStore(join(root, 'objects'));
}
afterAll(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

describeObjectStoreContract('filesystem', freshStore, { atomicCreate: true, byteOrderAcrossSlash: true });

describe('FsObjectStore', () => {
  it('lays keys out as files under the root and describes itself as a file:// URL', async () => {
    const store = await freshStore();
    await store.put('a/b/c.txt', 'x');
    expect((await stat(join(store.root, 'a', 'b', 'c.txt'))).size).toBe(1);
    expect(store.describe()).toBe(`file://${store.root}`);
  });

  it('never writes outside the root, whatever the key', async () => {
    const store = await freshStore();
    const parent = join(store.root, '..');
    await store.put('inside', 'x');
    for (const key of ['../outside', 'a/../../outside', '..\\outside', '/tmp/outside']) {
      await expect(store.put(key, 'x')).rejects.toThrow();
    }
    expect(await readdir(parent)).toEqual(['objects']);
    expect(existsSync(join(parent, 'outside'))).toBe(false);
  });

  it('a failed write leaves no temp file behind', async () => {
    const store = await freshStore();
    await expect(store.put('x', failingStream(2))).rejects.toThrow('client went away');
    expect(await readdir(join(store.root, '.tmp'))).toEqual([]);
  });

  it('never lists temp files, even while a write is in flight', async () => {
    const store = await freshStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slowBody(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(1024, 1);
      await gate;
      yield Buffer.alloc(1024, 2);
    }
    const writing = store.put('slow', Readable.from(slowBody()));
    await waitFor(async () => (await readdir(join(store.root, '.tmp')).catch(() => [])).length === 1);
    expect(await keysOf(store)).toEqual([]);
    expect(await store.head('slow')).toBeUndefined();
    release();
    expect((await writing).size).toBe(2048);
    expect(await keysOf(store)).toEqual(['slow']);
  });

  it('many concurrent create-only puts: exactly one winner, the others get ConflictError', async () => {
    const store = await freshStore();
    const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => store.put('k', Buffer.alloc(200_000, i), { ifNotExists: true })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
    expect(await readdir(join(store.root, '.tmp'))).toEqual([]);
  });

  it("refuses 'x' next to 'x/…' with a ConflictError (a file cannot also be a directory)", async () => {
    const store = await freshStore();
    await store.put('x/y', '1');
    await expect(store.put('x', '2')).rejects.toBeInstanceOf(ConflictError);
    await store.put('f', '1');
    await expect(store.put('f/g', '2')).rejects.toBeInstanceOf(ConflictError);
    expect(await keysOf(store)).toEqual(['f', 'x/y']);
  });

  it('prunes directories emptied by delete, so the key prefix can become an object', async () => {
    const store = await freshStore();
    await store.put('p/q/r', '1');
    await store.delete('p/q/r');
    expect(existsSync(join(store.root, 'p'))).toBe(false);
    await store.put('p', 'now a file');
    expect(await keysOf(store)).toEqual(['p']);
  });

  it('treats a directory of other objects as no object', async () => {
    const store = await freshStore();
    await store.put('dir/obj', '1');
    expect(await store.head('dir')).toBeUndefined();
    await expect(store.getBytes('dir')).rejects.toMatchObject({ code: 'not_found' });
    await store.delete('dir');
    expect(await keysOf(store)).toEqual(['dir/obj']);
  });

  it('a writer killed with SIGKILL mid-write leaves the key absent; the stale temp file is swept later', async () => {
    const store = await freshStore();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./testdata/slow-put-child.ts', import.meta.url)), store.root, 'victim'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    try {
      // Kill once the child has written a good part of the object into its temp file.
      await waitFor(
        async () => {
          const tmp = await readdir(join(store.root, '.tmp')).catch(() => []);
          return tmp.length === 1 && (await stat(join(store.root, '.tmp', tmp[0]!))).size >= 256 * 1024;
        },
        20_000,
        () => stderr,
      );
    } finally {
      child.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    expect(await store.head('victim')).toBeUndefined();
    expect(await keysOf(store)).toEqual([]);

    const [leftover] = await readdir(join(store.root, '.tmp'));
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(join(store.root, '.tmp', leftover!), old, old);
    expect(await new FsObjectStore(store.root).removeStaleTempFiles(24 * 3600 * 1000)).toBe(1);
    expect(await readdir(join(store.root, '.tmp'))).toEqual([]);
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 5000, context?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${context ? `: ${context()}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('FsObjectStore errors', () => {
  it('a full disk or quota is StorageFullError (507 storage_full); other I/O failures stay storage_error (503)', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(objectStoreError(enospc, "writing object 'a'", 'a')).toMatchObject({ code: 'storage_full', httpStatus: 507, details: { key: 'a' } });
    expect(objectStoreError(Object.assign(new Error('quota'), { code: 'EDQUOT' }), 'writing')).toBeInstanceOf(StorageFullError);
    expect(objectStoreError(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }), 'reading')).toMatchObject({ code: 'storage_error', httpStatus: 503 });
  });
});
