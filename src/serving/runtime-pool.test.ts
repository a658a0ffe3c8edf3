import { describe, expect, it } from 'vitest';

import { silentLogger } from '../core/logger.js';
import { BackgroundTasks } from './background.js';
import type { ModelRuntime } from './runtime.js';
import { RuntimePool, versionKey } from './runtime-pool.js';

/** A pool over fake runtimes that count their loads and closes; `wanted` plays the served aliases. */
function fakePool(o: { pinnedVersions?: number; failLoads?: Set<number> } = {}) {
  const loads: string[] = [];
  const closed: string[] = [];
  const open = new Set<string>();
  let serial = 0;
  const wanted = new Set<string>();
  const background = new BackgroundTasks();
  const pool = new RuntimePool({
    load: async (name, version) => {
      await Promise.resolve();
      if (o.failLoads?.has(version)) throw new Error(`cannot load v${version}`);
      // Each load is a new session: `#n` tells a reloaded version from the one it replaced.
      const id = `${versionKey(name, version)}#${++serial}`;
      loads.push(id);
      open.add(id);
      return {
        id,
        close: async () => {
          if (!open.delete(id)) throw new Error(`${id} closed twice`);
          closed.push(id);
        },
      } as unknown as ModelRuntime;
    },
    wanted: () => wanted,
    background,
    logger: silentLogger,
    pinnedVersions: o.pinnedVersions ?? 0,
  });
  /** Points the (one) served alias at `version`, as a swap does: wanted first, then the pool is swept. */
  const serve = (version: number) => {
    wanted.clear();
    wanted.add(versionKey('m', version));
    pool.sweep();
  };
  return { pool, loads, closed, open, serve, settled: () => background.settled() };
}

const idOf = (rt: ModelRuntime) => (rt as unknown as { id: string }).id;

describe('RuntimePool', () => {
  it('a swapped-out version is released when the last request holding it is done, not under it', async () => {
    const p = fakePool();
    p.serve(1);
    const inFlight = p.pool.hold('m', 1);
    const v1 = idOf(await inFlight.runtime);
    p.serve(2); // the alias moved: v1 is no longer wanted, but a request still runs on it
    await new Promise((r) => setImmediate(r));
    expect(p.closed).toEqual([]); // held: not released under the request
    const next = p.pool.hold('m', 2);
    await p.pool.using(next, async () => undefined);
    expect(p.closed).toEqual([]);
    p.pool.release(inFlight);
    await p.settled();
    expect(p.closed).toEqual([v1]);
    expect([...p.open]).toEqual(['m@2#2']);
    expect(p.pool.list().map((v) => v.version)).toEqual([2]);
  });

  it('swapping back and forth keeps one session open at rest: each swapped-out one is released, once', async () => {
    const p = fakePool();
    for (let i = 0; i < 10; i++) {
      const version = (i % 2) + 1;
      p.serve(version);
      const held = p.pool.hold('m', version);
      await p.pool.using(held, async () => undefined);
      await p.settled();
      expect(p.open.size).toBe(1);
    }
    expect(p.loads).toHaveLength(10);
    expect(p.closed).toEqual(p.loads.slice(0, 9));
    await p.pool.closeAll();
    expect(p.open.size).toBe(0);
  });

  it('a version still wanted stays loaded when its last request is done; versions asked for by number stay in a bounded LRU', async () => {
    const p = fakePool({ pinnedVersions: 2 });
    p.serve(1);
    await p.pool.using(p.pool.hold('m', 1), async () => undefined);
    for (const v of [2, 3, 4]) {
      p.pool.pin('m', v);
      await p.pool.using(p.pool.hold('m', v), async () => undefined);
    }
    await p.settled();
    expect(p.pool.list().map((v) => v.version)).toEqual([1, 3, 4]);
    expect(p.closed).toEqual(['m@2#2']);
  });

  it('a failed load is not cached and closes nothing; the next request loads again', async () => {
    const failLoads = new Set([1]);
    const p = fakePool({ failLoads });
    p.serve(1);
    await expect(p.pool.using(p.pool.hold('m', 1), async () => undefined)).rejects.toThrow(/cannot load v1/);
    expect(p.pool.list()).toEqual([]);
    failLoads.clear();
    await p.pool.using(p.pool.hold('m', 1), async () => undefined);
    expect(p.pool.list()).toEqual([{ model: 'm', version: 1, ready: true }]);
    expect(p.closed).toEqual([]);
  });
});
