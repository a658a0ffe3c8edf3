// The drift monitor as one object the API, the CLI and the retrain trigger share: run a check (recorded, gauges set,
// alarm raised on detection), list checks, a model's profile summary. `alarms` is the process's DriftAlarms: the
// retrain trigger subscribes to it (docs/drift.md).
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { Db } from '../../storage/db.js';
import type { ModelRegistry } from '../../tracking/registry.js';
import type { Metrics } from '../metrics.js';
import { DriftAlarms } from './alarms.js';
import { type DriftCheckRequest, runDriftCheck } from './check.js';
import { loadProfile, NoDriftProfileError, profileSummary } from './profile.js';
import { listChecks } from './store.js';
import type { DriftCheck } from './types.js';

export interface ProfileStatus {
  model: string;
  version: number;
  datasetVersion: string;
  split: string;
  createdAt: string;
  embeddingDim: number | null;
  summary: ReturnType<typeof profileSummary>;
}

export class DriftService {
  readonly alarms: DriftAlarms;
  private readonly db: Db;
  private readonly registry: ModelRegistry;
  private readonly metrics: Pick<Metrics, 'setDriftGauges'> | undefined;
  private readonly clock: Clock | undefined;

  constructor(o: { db: Db; registry: ModelRegistry; logger: Logger; metrics?: Pick<Metrics, 'setDriftGauges'>; alarms?: DriftAlarms; clock?: Clock }) {
    this.db = o.db;
    this.clock = o.clock;
    this.registry = o.registry;
    this.metrics = o.metrics;
    this.alarms = o.alarms ?? new DriftAlarms(o.logger);
  }

  check(req: DriftCheckRequest): Promise<DriftCheck> {
    return runDriftCheck(
      { db: this.db, registry: this.registry, alarms: this.alarms, clock: this.clock, onCheck: (c) => this.metrics?.setDriftGauges(c) },
      req,
    );
  }

  checks(o: { model?: string; limit?: number } = {}): Promise<DriftCheck[]> {
    return listChecks(this.db, o);
  }

  /** The profile of the model's production version (else its latest); null when none was computed. */
  async profile(model: string): Promise<ProfileStatus | null> {
    const version = (await this.registry.aliases(model)).production ?? (await this.registry.resolve(model)).version;
    try {
      const p = await loadProfile(this.registry, model, version);
      return {
        model,
        version,
        datasetVersion: p.datasetVersion,
        split: p.split,
        createdAt: p.createdAt,
        embeddingDim: p.embeddingDim,
        summary: profileSummary(p),
      };
    } catch (err) {
      if (err instanceof NoDriftProfileError) return null;
      throw err;
    }
  }
}

/** Refreshes the drift gauges from the latest check of each model before every scrape (checks run by other processes too). */
export function collectDriftGauges(db: Db, metrics: Metrics, logger: Logger): void {
  metrics.addCollector(async () => {
    try {
      const seen = new Set<string>();
      for (const c of await listChecks(db, { limit: 500 })) {
        if (seen.has(c.model)) continue;
        seen.add(c.model);
        metrics.setDriftGauges(c);
      }
    } catch (err) {
      logger.warn({ err }, 'could not refresh the drift gauges');
    }
  });
}
