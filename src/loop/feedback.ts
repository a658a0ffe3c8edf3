// The feedback dataset of the loop: the workflow's finalized studies (workflow/feedback.ts) built into a dataset
// version (data/feedback). `secondread data feedback` and the retraining job both come here.
import type { Clock } from '../core/clock.js';
import type { ProgressFn } from '../core/progress.js';
import { resolveVersionRef } from '../data/datasets/repository.js';
import { buildFeedbackVersion, type FeedbackBuildResult } from '../data/feedback/index.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type FeedbackQuery, finalizedStudies } from '../workflow/feedback.js';

export interface FeedbackDatasetOptions extends FeedbackQuery {
  /** Version id or unique prefix to merge into. */
  base?: string;
  seed?: number;
  name?: string;
}

export async function buildFeedbackDataset(
  deps: { db: Db; objects: ObjectStore; clock?: Clock; onProgress?: ProgressFn },
  o: FeedbackDatasetOptions,
): Promise<FeedbackBuildResult> {
  const base = o.base !== undefined ? await resolveVersionRef(deps.db, o.base) : undefined;
  const studies = await finalizedStudies(deps.db, o);
  return buildFeedbackVersion({
    ...deps,
    studies,
    base,
    seed: o.seed,
    name: o.name,
    selection: { since: o.since ?? null, until: o.until ?? null, includeAutoFinalized: o.includeAutoFinalized ?? false },
  });
}
