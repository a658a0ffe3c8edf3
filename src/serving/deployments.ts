// Deployments: which version of a model answers a request. The aliases of each model this server
// follows (as last read from the registry) and which of them it serves; the route pick — by default
// `production`; with a canary weight w, a stable hash of the study id sends a fixed share w of studies
// to `canary` (the same study always goes the same way); shadow mode answers with production and names
// `canary` as the version to score in the background. Alias polling: when a served alias moves, the new
// version is loaded and warmed (by the owner's `warm`) while the old one keeps serving, then the pointer
// is swapped. A staged rollout (src/rollout) sets the canary share per model; it is read with the aliases and
// overrides the server's `canaryWeight` while set.
import { NotFoundError } from '../core/errors.js';
import { sha256Hex } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { Alias, ModelRegistry } from '../tracking/index.js';
import { versionKey } from './runtime-pool.js';
import type { Route, ServingObserver, ServingOptions } from './types.js';

/** The aliases of one model as last read from the registry, and which of them this server serves. */
export interface Pointers {
  current: Partial<Record<Alias, number>>;
  served: Set<Alias>;
  /** The canary share a staged rollout sets for this model (last read), or null: the server's `canaryWeight`. */
  canaryWeight: number | null;
}

export interface Target {
  route: Route;
  version: number;
  /** Shadow mode: the canary version to score in the background. */
  shadowVersion?: number;
}

/** A stable number in [0, 1) for a study: the same study always lands on the same side of the canary split. */
export function canaryBucket(name: string, studyId: string): number {
  return parseInt(sha256Hex(`${name}\u0000${studyId}`).slice(0, 8), 16) / 2 ** 32;
}

/** The route pick's answer: the aliases it followed (served from now on) and the target, or the alias that is not set. */
export type RoutePick = { follows: Alias[]; target: Target } | { follows: Alias[]; missing: Alias };

/**
 * The route pick, a pure function of the alias table, the options and the request: a named alias → its version;
 * else production, or the canary for the share `canaryWeight` of studies (by their stable bucket), or production
 * with the canary as shadow.
 */
export function pickRoute(
  name: string,
  current: Readonly<Partial<Record<Alias, number>>>,
  alias: Alias | undefined,
  stickyKey: string,
  o: Pick<ServingOptions, 'canaryWeight' | 'shadow'>,
): RoutePick {
  if (alias !== undefined) {
    const v = current[alias];
    return v === undefined ? { follows: [alias], missing: alias } : { follows: [alias], target: { route: 'alias', version: v } };
  }
  const production = current.production;
  if (production === undefined) return { follows: ['production'], missing: 'production' };
  if (o.canaryWeight === 0 && !o.shadow) return { follows: ['production'], target: { route: 'production', version: production } };
  const follows: Alias[] = ['production', 'canary'];
  const canary = current.canary;
  if (canary === undefined || canary === production) return { follows, target: { route: 'production', version: production } };
  if (o.canaryWeight > 0 && canaryBucket(name, stickyKey) < o.canaryWeight) return { follows, target: { route: 'canary', version: canary } };
  return { follows, target: o.shadow ? { route: 'production', version: production, shadowVersion: canary } : { route: 'production', version: production } };
}

export interface DeploymentsDeps {
  registry: Pick<ModelRegistry, 'aliases'>;
  logger: Logger;
  observer: ServingObserver;
  /** Loads and warms a version an alias moved to; resolves when it can serve. */
  warm(name: string, version: number): Promise<void>;
  /** Called after each alias change: versions nothing points at any more may be unloaded. */
  changed(): void;
  /** The canary share a staged rollout (src/rollout) sets for a model, or null when none does; read with the aliases. */
  canaryWeight?(name: string): Promise<number | null>;
}

export class Deployments {
  private readonly pointers = new Map<string, Pointers>();
  private readonly pointerLoads = new Map<string, Promise<Pointers>>();
  /** Versions being loaded for a swap: kept even though nothing points at them yet. */
  private readonly swapping = new Set<string>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly deps: DeploymentsDeps,
    private readonly options: Pick<ServingOptions, 'canaryWeight' | 'shadow' | 'aliasPollMs'>,
  ) {
    if (options.aliasPollMs > 0) this.schedulePoll();
  }

  /** The alias table of a model: the last poll's, or read now the first time the model is asked for. */
  pointersOf(name: string): Pointers | Promise<Pointers> {
    return this.pointers.get(name) ?? this.readPointers(name);
  }

  /**
   * The route for a request, given the table from `pointersOf` (synchronous: nothing can move in between). The
   * aliases followed are served from now on — polling follows them — also when one is not set (NotFoundError).
   */
  pick(name: string, p: Pointers, alias: Alias | undefined, stickyKey: string): Target {
    const r = pickRoute(name, p.current, alias, stickyKey, { canaryWeight: p.canaryWeight ?? this.options.canaryWeight, shadow: this.options.shadow });
    for (const a of r.follows) p.served.add(a);
    if ('missing' in r) throw new NotFoundError('model alias', `${name}@${r.missing}`);
    return r.target;
  }

  /** The versions this server currently serves per alias of a model (after the last poll). */
  served(name: string): Partial<Record<Alias, number>> {
    const p = this.pointers.get(name);
    if (!p) return {};
    return Object.fromEntries([...p.served].filter((a) => p.current[a] !== undefined).map((a) => [a, p.current[a]!]));
  }

  /** Keys of the versions to keep loaded: those the served aliases point at and those a swap is loading. */
  *wanted(): Iterable<string> {
    yield* this.swapping;
    for (const [name, p] of this.pointers) for (const a of p.served) if (p.current[a] !== undefined) yield versionKey(name, p.current[a]!);
  }

  /** Stops polling and waits for a poll in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    await this.polling;
  }

  /** Reads every followed model's aliases; a moved alias that is served is loaded, warmed, then swapped in. */
  async poll(): Promise<void> {
    for (const [name, p] of this.pointers) {
      if (this.stopped) return;
      let fresh: Partial<Record<Alias, number>>;
      let weight: number | null;
      try {
        fresh = await this.deps.registry.aliases(name);
        weight = await this.rolloutWeight(name);
      } catch (err) {
        this.deps.logger.warn({ err, model: name }, 'alias poll failed; serving the versions already loaded');
        continue;
      }
      if (weight !== p.canaryWeight) {
        this.deps.logger.info({ model: name, from: p.canaryWeight, to: weight }, 'canary share changed by a rollout');
        p.canaryWeight = weight;
      }
      for (const alias of Object.keys({ ...p.current, ...fresh }) as Alias[]) {
        const from = p.current[alias];
        const to = fresh[alias];
        if (from === to) continue;
        if (to !== undefined && p.served.has(alias)) {
          const k = versionKey(name, to);
          this.swapping.add(k);
          try {
            await this.deps.warm(name, to);
          } catch (err) {
            this.deps.logger.error({ err, model: name, alias, from, to }, 'cannot load the version an alias moved to; still serving the previous one');
            continue;
          } finally {
            this.swapping.delete(k);
          }
          if (this.stopped) return;
        }
        if (to === undefined) delete p.current[alias];
        else p.current[alias] = to;
        if (p.served.has(alias) && to !== undefined) {
          this.deps.logger.info({ model: name, alias, from: from ?? null, to }, 'alias moved: new version swapped in');
          this.deps.observer.swapped?.({ model: name, alias, from: from ?? null, to });
        }
        this.deps.changed();
      }
    }
  }

  private readPointers(name: string): Promise<Pointers> {
    let p = this.pointerLoads.get(name);
    if (!p) {
      p = Promise.all([this.deps.registry.aliases(name), this.rolloutWeight(name)])
        .then(([current, canaryWeight]) => {
          const existing = this.pointers.get(name);
          if (existing) return existing;
          const created: Pointers = { current, served: new Set(), canaryWeight };
          this.pointers.set(name, created);
          return created;
        })
        .finally(() => this.pointerLoads.delete(name));
      this.pointerLoads.set(name, p);
    }
    return p;
  }

  private rolloutWeight(name: string): Promise<number | null> {
    return this.deps.canaryWeight ? this.deps.canaryWeight(name) : Promise.resolve(null);
  }

  private schedulePoll(): void {
    this.pollTimer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = null;
        if (!this.stopped) this.schedulePoll();
      });
    }, this.options.aliasPollMs);
    this.pollTimer.unref();
  }
}
