// Shadow mode's recorder: the canary version scores the same images as production, in the background,
// and both answers are recorded as one comparison row per image (store: the `shadow_comparisons` table).
// Nobody waits for it: an overloaded shadow skips the work, and a failure is logged, never passed on —
// the production answer is never affected.
import { type Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { Db } from '../storage/db.js';
import type { ShadowComparisonsTable } from '../storage/schema.js';
import type { ModelRuntime } from './runtime.js';
import type { PredictResult, ServingObserver } from './types.js';

/** One comparison row: the `shadow_comparisons` table's own record type (one shape, not two). */
export type ShadowComparison = ShadowComparisonsTable;

/** Where comparisons go. */
export interface ShadowStore {
  insert(rows: ShadowComparison[]): Promise<void>;
}

/** The metadata DB's `shadow_comparisons` table. */
export function dbShadowStore(db: Db): ShadowStore {
  return {
    insert: async (rows) => {
      await db.insertInto('shadow_comparisons').values(rows).execute();
    },
  };
}

/** What production answered for a request: the shadow scores the same images. */
export interface ProductionAnswer {
  images: Uint8Array[];
  /** Production's input tensors, reused when the shadow has the same preprocessing. */
  tensors: Float32Array[];
  /** Production's preprocessing, as JSON. */
  preprocessing: string;
  results: PredictResult[];
  requestId: string;
  studyId: string | null;
}

export class ShadowRecorder {
  constructor(private readonly deps: { store: ShadowStore; clock: Clock; logger: Logger; observer: ServingObserver }) {}

  /**
   * Scores the answer's images with the shadow version and records both answers; never throws. `use` runs the
   * scoring on the shadow version's runtime (held by the caller, released when it returns).
   */
  async record(m: { model: string; version: number }, use: (fn: (rt: ModelRuntime) => Promise<void>) => Promise<void>, r: ProductionAnswer): Promise<void> {
    const { observer } = this.deps;
    try {
      await use(async (rt) => {
        // Overloaded shadow: skip rather than queue up work nobody waits for.
        if (rt.queueDepth + r.images.length > rt.batching.maxQueueSize / 2) {
          observer.dropped?.(m, 'shadow_skipped');
          return;
        }
        const same = JSON.stringify(rt.metadata.preprocessing) === r.preprocessing;
        const inputs = same ? r.tensors : await Promise.all(r.images.map((img) => rt.preprocess(img)));
        const logits = await Promise.all(inputs.map((t) => rt.score(t)));
        const at = this.deps.clock.now().toISOString();
        const rows = logits.map((l, i): ShadowComparison => {
          const top = rt.classify(l)[0]!;
          const prod = r.results[i]!;
          return {
            id: newId('shd_'),
            model_name: m.model,
            production_version: prod.version,
            shadow_version: rt.version,
            request_id: r.requestId,
            study_id: r.studyId,
            production_class: prod.top.class,
            production_probability: prod.top.probability,
            shadow_class: top.class,
            shadow_probability: top.probability,
            agree: top.class === prod.top.class ? 1 : 0,
            at,
          };
        });
        await this.deps.store.insert(rows);
        for (const row of rows)
          observer.shadow?.({ model: m.model, productionVersion: row.production_version, shadowVersion: row.shadow_version }, row.agree === 1);
      });
    } catch (err) {
      this.deps.logger.warn(
        { err, model: m.model, shadowVersion: m.version, requestId: r.requestId },
        'shadow scoring failed (the production answer was not affected)',
      );
    }
  }
}
