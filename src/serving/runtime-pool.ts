// The loaded model versions of one server: a runtime (session + batcher) per (name, version), loaded
// lazily and shared by every request that picked that version. A request holds its version while it
// runs; a version nobody wants any more is retired — unlisted at once (new requests load afresh) and
// closed when the last request holding it has its answer, so unloading fails no request. Versions
// asked for by number stay loaded in a small LRU; which other versions are wanted (those the served
// aliases point at, those a hot swap is loading) the pool asks its owner.
import type { Logger } from '../core/logger.js';
import type { BackgroundTasks } from './background.js';
import type { ModelRuntime } from './runtime.js';

/** A loaded (or loading) version and the requests holding it. */
export interface PoolEntry {
  key: string;
  name: string;
  version: number;
  runtime: Promise<ModelRuntime>;
  loaded: ModelRuntime | null;
  /** Requests (and swaps) using it: it is closed only when this drops to 0. */
  holds: number;
  retired: boolean;
  onIdle: (() => void) | null;
}

export interface RuntimePoolDeps {
  /** Loads and warms one version. */
  load(name: string, version: number): Promise<ModelRuntime>;
  /** Keys (`name@version`) of the versions the owner wants kept loaded besides the LRU's. */
  wanted(): Iterable<string>;
  background: BackgroundTasks;
  logger: Logger;
  /** Versions asked for by number kept loaded (LRU). */
  pinnedVersions: number;
}

export const versionKey = (name: string, version: number) => `${name}@${version}`;

export class RuntimePool {
  private readonly entries = new Map<string, PoolEntry>();
  /** Keys of versions asked for by number, least recently used first. */
  private readonly pinned: string[] = [];

  constructor(private readonly deps: RuntimePoolDeps) {}

  /** Takes a hold on (name, version), starting its load if it is not loaded: it cannot be closed while held. */
  hold(name: string, version: number): PoolEntry {
    const e = this.entries.get(versionKey(name, version)) ?? this.entry(name, version);
    e.holds += 1;
    return e;
  }

  release(e: PoolEntry): void {
    e.holds -= 1;
    if (e.holds > 0) return;
    if (e.retired) e.onIdle?.();
    else if (!this.keep().has(e.key)) this.deps.background.track(this.retire(e));
  }

  /** Runs `fn` on a held entry's runtime, then releases the hold. */
  async using<T>(e: PoolEntry, fn: (rt: ModelRuntime) => Promise<T>): Promise<T> {
    try {
      return await fn(await e.runtime);
    } finally {
      this.release(e);
    }
  }

  /** Remembers a version asked for by number; the least recently used beyond the limit is unloaded. */
  pin(name: string, version: number): void {
    const k = versionKey(name, version);
    const i = this.pinned.indexOf(k);
    if (i >= 0) this.pinned.splice(i, 1);
    this.pinned.push(k);
    if (this.pinned.length > this.deps.pinnedVersions) {
      this.pinned.splice(0, this.pinned.length - this.deps.pinnedVersions);
      this.sweep();
    }
  }

  /** Retires every loaded version that is not wanted and not held (one still held is retired when released). */
  sweep(): void {
    const keep = this.keep();
    for (const e of [...this.entries.values()]) if (!keep.has(e.key) && e.holds === 0) this.deps.background.track(this.retire(e));
  }

  /** The versions loaded right now (for diagnostics and tests). */
  list(): { model: string; version: number; ready: boolean }[] {
    return [...this.entries.values()]
      .map((e) => ({ model: e.name, version: e.version, ready: e.loaded !== null }))
      .sort((a, b) => a.model.localeCompare(b.model) || a.version - b.version);
  }

  /** Retires every version, waiting for the requests that hold them. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.retire(e)));
  }

  private keep(): Set<string> {
    return new Set([...this.pinned, ...this.deps.wanted()]);
  }

  private entry(name: string, version: number): PoolEntry {
    const k = versionKey(name, version);
    const runtime = this.deps.load(name, version);
    const e: PoolEntry = { key: k, name, version, runtime, loaded: null, holds: 0, retired: false, onIdle: null };
    e.runtime = runtime.then(
      (rt) => {
        e.loaded = rt;
        return rt;
      },
      (err: unknown) => {
        // A failed load is not cached: the next request tries again (the registry may have been fixed).
        if (this.entries.get(k) === e) this.entries.delete(k);
        throw err;
      },
    );
    // Whoever holds the entry awaits `runtime` and gets the load error; this only keeps a load that fails
    // before its holder awaits it (a shadow waits for the production answer first) from counting as unhandled.
    e.runtime.catch(() => undefined);
    this.entries.set(k, e);
    return e;
  }

  /** Unlists the entry now (new requests load afresh), closes it once the last request holding it is done. */
  private async retire(e: PoolEntry): Promise<void> {
    if (e.retired) return;
    e.retired = true;
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    if (e.holds > 0) await new Promise<void>((resolve) => (e.onIdle = resolve));
    e.onIdle = null;
    const rt = await e.runtime.catch(() => null);
    if (rt) {
      await rt.close();
      this.deps.logger.info({ model: e.name, version: e.version }, 'model unloaded');
    }
  }
}
