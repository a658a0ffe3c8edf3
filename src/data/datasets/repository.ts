// Dataset versions in the metadata DB. A version moves building → ready (or failed); once ready it is
// immutable: nothing here updates a ready version or its images.
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.js';
import type { Db } from '../../storage/db.js';
import type { DatasetVersionsTable } from '../../storage/schema.js';
import type { SecondreadClass } from '../classes.js';
import { fromImageRow, toImageRow } from './rows.js';
import type { DatasetVersion, ManifestImage, Split, VersionStatus } from './types.js';

/** Rows per INSERT: 20 columns × 500 stays under SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_BATCH = 500;

function toVersion(r: DatasetVersionsTable): DatasetVersion {
  return {
    id: r.id,
    name: r.name,
    status: r.status as VersionStatus,
    inputs: JSON.parse(r.inputs_json) as Record<string, unknown>,
    imageCount: r.image_count,
    report: r.report_json ? (JSON.parse(r.report_json) as Record<string, unknown>) : null,
    error: r.error,
    createdAt: r.created_at,
    completedAt: r.completed_at,
  };
}

export async function findVersion(db: Db, id: string): Promise<DatasetVersion | undefined> {
  const row = await db.selectFrom('dataset_versions').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toVersion(row) : undefined;
}

export async function getVersion(db: Db, id: string): Promise<DatasetVersion> {
  const v = await findVersion(db, id);
  if (!v) throw new NotFoundError('dataset version', id);
  return v;
}

/** Newest first. */
export async function listVersions(db: Db): Promise<DatasetVersion[]> {
  const rows = await db.selectFrom('dataset_versions').selectAll().orderBy('created_at', 'desc').orderBy('id').execute();
  return rows.map(toVersion);
}

/**
 * Records that a build of `id` is under way: creates the row, or resets a `building` (interrupted) or
 * `failed` one. Refuses a ready version (the caller checks first; this guards a race).
 */
export async function beginBuild(db: Db, v: { id: string; name: string | null; inputs: Record<string, unknown>; now: string }): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const existing = await tx.selectFrom('dataset_versions').select('status').where('id', '=', v.id).executeTakeFirst();
    if (existing?.status === 'ready') throw new ConflictError(`dataset version '${v.id}' is already ready (immutable)`, { version: v.id });
    if (existing) {
      await tx
        .updateTable('dataset_versions')
        .set({ status: 'building', name: v.name, error: null, report_json: null, image_count: 0, completed_at: null })
        .where('id', '=', v.id)
        .execute();
    } else {
      await tx
        .insertInto('dataset_versions')
        .values({
          id: v.id,
          name: v.name,
          status: 'building',
          inputs_json: JSON.stringify(v.inputs),
          image_count: 0,
          report_json: null,
          error: null,
          created_at: v.now,
          completed_at: null,
        })
        .execute();
    }
  });
}

async function assertBuilding(db: Db, id: string): Promise<void> {
  const row = await db.selectFrom('dataset_versions').select('status').where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError('dataset version', id);
  if (row.status !== 'building') throw new ConflictError(`dataset version '${id}' is ${row.status}, not building`, { version: id, status: row.status });
}

/**
 * Publishes the manifest and marks the version ready, in ONE transaction: rows left by an interrupted
 * build are deleted first, so the version ends with exactly these rows, and it is never ready with a
 * partial manifest.
 */
export async function completeBuild(db: Db, id: string, images: readonly ManifestImage[], report: object, now: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await assertBuilding(tx, id);
    await tx.deleteFrom('dataset_images').where('version_id', '=', id).execute();
    for (let i = 0; i < images.length; i += INSERT_BATCH) {
      await tx
        .insertInto('dataset_images')
        .values(images.slice(i, i + INSERT_BATCH).map((img) => toImageRow(id, img)))
        .execute();
    }
    await tx
      .updateTable('dataset_versions')
      .set({ status: 'ready', image_count: images.length, report_json: JSON.stringify(report), completed_at: now })
      .where('id', '=', id)
      .execute();
  });
}

export async function failBuild(db: Db, id: string, error: string): Promise<void> {
  await db.updateTable('dataset_versions').set({ status: 'failed', error }).where('id', '=', id).where('status', '=', 'building').execute();
}

export interface ImageQuery {
  split?: Split;
  class?: SecondreadClass;
}

/** A version's images in object-key order (stable, so caches and manifests list them identically). */
export async function listImages(db: Db, versionId: string, q: ImageQuery = {}): Promise<ManifestImage[]> {
  let query = db.selectFrom('dataset_images').selectAll().where('version_id', '=', versionId);
  if (q.split) query = query.where('split', '=', q.split);
  if (q.class) query = query.where('class', '=', q.class);
  const rows = await query.orderBy('object_key').execute();
  return rows.map(fromImageRow);
}

/** Accepts a full version id or an unambiguous prefix of one (`ds-3f9a`), as users type them. */
export async function resolveVersionRef(db: Db, idOrPrefix: string): Promise<string> {
  if (await findVersion(db, idOrPrefix)) return idOrPrefix;
  // A handful of versions per installation: filtering ids in JS avoids LIKE-escaping differences.
  const rows = (await db.selectFrom('dataset_versions').select('id').execute()).filter((r) => r.id.startsWith(idOrPrefix));
  if (rows.length === 1) return rows[0]!.id;
  if (rows.length > 1)
    throw new ValidationError(`'${idOrPrefix}' matches ${rows.length} dataset versions (${rows.map((r) => r.id).join(', ')}): give more characters`);
  throw new NotFoundError('dataset version', idOrPrefix);
}
