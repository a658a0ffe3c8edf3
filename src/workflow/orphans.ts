// The orphan sweeper: intake writes a study's objects (`studies/<id>/…`) before the transaction that
// records the study, so a process killed between the two (kill -9, power loss, OOM) leaves objects no
// row refers to. They are never shown (every read goes through a row) but they hold image bytes; the
// sweeper removes them. A grace period keeps the objects of intakes still in flight in another process.
import type { Logger } from '../core/logger.js';
import type { Db } from '../storage/db.js';
import type { ObjectStore } from '../storage/object-store.js';

/** Objects younger than this are left alone by default: an intake in flight takes seconds, not an hour. */
export const DEFAULT_ORPHAN_GRACE_MS = 60 * 60 * 1000;

export interface SweepOptions {
  /** Only objects last modified before now − graceMs are removed (default one hour). */
  graceMs?: number;
  /** List what would be removed without removing it. */
  dryRun?: boolean;
  now?: Date;
  logger?: Logger;
}

export interface SweepResult {
  /** Objects under `studies/` looked at. */
  scanned: number;
  /** Orphans removed (or, in a dry run, that would be). */
  removed: string[];
  /** Orphans left because they are younger than the grace period. */
  young: number;
}

const PREFIX = 'studies/';
/** Ids looked up per query (well under SQLite's and PostgreSQL's parameter limits). */
const BATCH = 500;

/** Removes objects under `studies/<id>/` whose study `<id>` has no row, older than the grace period. */
export async function sweepOrphanStudyObjects(db: Db, objects: ObjectStore, opts: SweepOptions = {}): Promise<SweepResult> {
  const cutoff = (opts.now ?? new Date()).getTime() - (opts.graceMs ?? DEFAULT_ORPHAN_GRACE_MS);
  const byStudy = new Map<string, { key: string; modified: number }[]>();
  let scanned = 0;
  for await (const o of objects.list(PREFIX)) {
    scanned++;
    const id = o.key.slice(PREFIX.length).split('/')[0]!;
    // An object without lastModified is treated as new: never removed on a guess.
    const list = byStudy.get(id) ?? [];
    list.push({ key: o.key, modified: o.lastModified?.getTime() ?? Number.POSITIVE_INFINITY });
    byStudy.set(id, list);
  }
  const ids = [...byStudy.keys()];
  const known = new Set<string>();
  for (let i = 0; i < ids.length; i += BATCH) {
    const rows = await db
      .selectFrom('studies')
      .select('id')
      .where('id', 'in', ids.slice(i, i + BATCH))
      .execute();
    for (const r of rows) known.add(r.id);
  }
  const removed: string[] = [];
  let young = 0;
  for (const [id, list] of byStudy) {
    if (known.has(id)) continue;
    for (const o of list) {
      if (o.modified >= cutoff) {
        young++;
        continue;
      }
      // Looked up again just before deleting: a study recorded since the listing keeps its objects.
      if (!opts.dryRun && (await db.selectFrom('studies').select('id').where('id', '=', id).executeTakeFirst())) break;
      if (!opts.dryRun) await objects.delete(o.key);
      removed.push(o.key);
    }
  }
  if (removed.length > 0) opts.logger?.info({ removed: removed.length, dryRun: opts.dryRun === true }, 'orphan study objects swept');
  return { scanned, removed, young };
}
