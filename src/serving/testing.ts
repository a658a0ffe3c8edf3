// Test fixtures for serving: a registry (SQLite + filesystem objects) holding tiny vit-tiny versions,
// deterministic test images, and a service wired to it with test-friendly knobs.
import { silentLogger } from '../core/logger.js';
import { grayPng } from '../data/images/testing.js';
import type { DbDialect } from '../storage/db.js';
import { ModelRegistry } from '../tracking/registry.js';
import { finishedRunWithDetector, finishedRunWithModel, openTrackingFixture, type TinyModelOptions, type TrackingFixture } from '../tracking/testing.js';
import { ServingService } from './service.js';
import type { ServingObserver, ServingOptions } from './types.js';

export interface ServingFixture {
  f: TrackingFixture;
  registry: ModelRegistry;
  /** Registers the next version of `name` (a tiny ViT; `seed` changes its weights, so versions disagree). */
  register(name: string, o?: TinyModelOptions): Promise<number>;
  /** Registers the next version of `name`: the tiny engine-exported detector (tracking/testing.ts). */
  registerDetector(name: string, o?: { seed?: number }): Promise<number>;
  promote(name: string, version: number, alias: string): Promise<void>;
  service(options?: Partial<ServingOptions>, observer?: ServingObserver): ServingService;
  close(): Promise<void>;
}

export async function openServingFixture(dialect: DbDialect = 'sqlite'): Promise<ServingFixture> {
  const f = await openTrackingFixture(dialect);
  const registry = new ModelRegistry(f.t.db, f.objects, f.tracker);
  const services: ServingService[] = [];
  return {
    f,
    registry,
    register: async (name, o = {}) => (await registry.register({ runId: await finishedRunWithModel(f.tracker, o), name, by: 'test' })).version,
    registerDetector: async (name, o = {}) => (await registry.register({ runId: await finishedRunWithDetector(f.tracker, o), name, by: 'test' })).version,
    promote: (name, version, alias) => registry.setAlias(name, alias, version, { by: 'test', reason: 'test' }),
    service: (options = {}, observer) => {
      const s = new ServingService(
        { registry, db: f.t.db, logger: silentLogger, observer },
        { threads: 1, aliasPollMs: 0, batching: { maxQueueDelayUs: 1000 }, ...options },
      );
      services.push(s);
      return s;
    },
    close: async () => {
      await Promise.all(services.map((s) => s.close()));
      await f.close();
    },
  };
}

/** A 40×48 gray PNG whose content depends on `seed` (so different images get different predictions). */
export function testImage(seed: number): Promise<Buffer> {
  return grayPng(40, 48, (x, y) => 128 + 100 * Math.sin((x + 1) * ((seed % 7) + 1) * 0.37 + y * ((seed * 13) % 11) * 0.21 + seed));
}
