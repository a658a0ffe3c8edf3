// GET /v1/datasets…: dataset versions for the UI — counts per split × class, the build and validation
// summaries, sample images per class and their thumbnails. An image is found by (version, sha256) in
// that version's manifest rows and read from the object key the manifest holds: nothing from the
// request ever becomes a key or a path.
import { basename } from 'node:path';

import type { FastifyInstance } from 'fastify';

import { NotFoundError } from '../../core/errors.js';
import { sha256Hex } from '../../core/ids.js';
import { SECONDREAD_CLASSES } from '../../data/classes.js';
import { findVersion, listImages, listVersions, resolveVersionRef } from '../../data/datasets/repository.js';
import { fromImageRow } from '../../data/datasets/rows.js';
import { type DatasetVersion, type ManifestImage, SPLITS } from '../../data/datasets/types.js';
import type { BuildReport } from '../../data/etl/report.js';
import { decodeOrThrow, imagePipeline } from '../../data/images/decode.js';
import type { ValidationReport } from '../../data/validate/validate.js';
import { validateVersion } from '../../data/validate/validate-version.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { errorResponses } from '../schemas.js';
import { typed } from '../type-provider.js';

export interface DatasetsRoutesOptions {
  db: Db;
  objects: Pick<ObjectStore, 'getBytes'>;
}

export const DATASET_ROLES = ['ml-engineer', 'admin'] as const;

/** Largest thumbnail side: enough for a grid of samples, small enough to send dozens at once. */
export const MAX_THUMBNAIL = 128;
/** Issues listed in a version's validation summary (the counts beside them are complete). */
const MAX_ISSUES = 100;
/** Thumbnails kept in memory: a dataset page asks for the same few dozen again and again. */
const THUMBNAIL_CACHE = 512;
/** Validation summaries kept (ready versions are immutable, so a summary never goes stale). */
const VALIDATION_CACHE = 16;

const versionIdSchema = {
  type: 'string',
  pattern: '^ds-[0-9a-f]{4,20}$',
  description: 'dataset version id, or an unambiguous prefix of one (at least `ds-` + 4 hex digits)',
} as const;
const sha256Schema = { type: 'string', pattern: '^[0-9a-f]{64}$', description: "the image's sha256, as listed in the version's manifest" } as const;
const countsSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  description: 'images per split × class (null until the version is ready)',
  properties: Object.fromEntries(SPLITS.map((s) => [s, { type: 'object', additionalProperties: { type: 'integer' } }])),
} as const;

const versionProperties = {
  id: { type: 'string' },
  name: { type: ['string', 'null'] },
  status: { type: 'string', enum: ['building', 'ready', 'failed'] },
  imageCount: { type: 'integer' },
  createdAt: { type: 'string' },
  completedAt: { type: ['string', 'null'] },
  error: { type: ['string', 'null'] },
  counts: countsSchema,
  finalEval: { type: ['integer', 'null'], description: 'images flagged final_eval (a subset of val ∪ test)' },
} as const;
const versionRequired = ['id', 'name', 'status', 'imageCount', 'createdAt', 'completedAt', 'error', 'counts', 'finalEval'];

const summarySchema = { type: 'object', additionalProperties: true } as const;
const detailSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...versionRequired, 'inputs', 'build', 'validation'],
  properties: {
    ...versionProperties,
    inputs: {
      type: 'object',
      additionalProperties: true,
      description: 'what the version id hashes: ETL version, seed, split ratios, per source its class rules and archive sha256',
    },
    build: {
      ...summarySchema,
      type: ['object', 'null'],
      description: 'archives read (file name, sha256, size), ignored entries, duplicates and quarantined counts, patients, timings',
    },
    validation: {
      type: ['object', 'null'],
      additionalProperties: false,
      description: '`data validate` of the manifest rows (objects not re-checked); null until ready',
      required: ['ok', 'errors', 'warnings', 'issues', 'splitTotals', 'finalEval', 'duplicates', 'leaks', 'classStats'],
      properties: {
        ok: { type: 'boolean' },
        errors: { type: 'integer' },
        warnings: { type: 'integer' },
        issues: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['level', 'code', 'message'],
            properties: { level: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
          },
        },
        splitTotals: { type: 'object', additionalProperties: { type: 'integer' } },
        finalEval: { type: 'object', additionalProperties: { type: 'integer' } },
        duplicates: { type: 'integer' },
        leaks: { type: 'integer' },
        classStats: summarySchema,
      },
    },
  },
} as const;

const sampleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sha256', 'class', 'split', 'finalEval', 'width', 'height', 'format', 'thumbnail'],
  properties: {
    sha256: { type: 'string' },
    class: { type: 'string' },
    split: { type: 'string' },
    finalEval: { type: 'boolean' },
    width: { type: 'integer' },
    height: { type: 'integer' },
    format: { type: 'string' },
    thumbnail: { type: 'string', description: 'URL of its PNG thumbnail' },
  },
} as const;

function toVersionBody(v: DatasetVersion) {
  const report = v.report as Partial<BuildReport> | null;
  return {
    id: v.id,
    name: v.name,
    status: v.status,
    imageCount: v.imageCount,
    createdAt: v.createdAt,
    completedAt: v.completedAt,
    error: v.error,
    counts: v.status === 'ready' ? (report?.counts ?? null) : null,
    finalEval: v.status === 'ready' ? (report?.finalEval ?? null) : null,
  };
}

/** The build report without what only the server's disk knows (archive locations). */
function buildSummary(report: Partial<BuildReport> | null) {
  if (!report) return null;
  return {
    images: report.images ?? null,
    archives: (report.archives ?? []).map((a) => ({
      dataset: a.dataset,
      archive: basename(a.archive),
      sha256: a.sha256,
      sizeBytes: a.sizeBytes,
      selected: a.selected,
      ignored: a.ignored,
    })),
    ignoredEntries: report.ignoredEntries ?? null,
    duplicates: report.duplicates ? { count: report.duplicates.count, conflictingClasses: report.duplicates.conflictingClasses } : null,
    quarantined: report.quarantined ? { count: report.quarantined.count } : null,
    patients: report.patients ?? null,
    timingsMs: report.timingsMs ?? null,
  };
}

function validationSummary(r: ValidationReport) {
  return {
    ok: r.ok,
    errors: r.issues.filter((i) => i.level === 'error').length,
    warnings: r.issues.filter((i) => i.level === 'warning').length,
    issues: r.issues.slice(0, MAX_ISSUES),
    splitTotals: r.splitTotals,
    finalEval: r.finalEval,
    duplicates: r.duplicates.length,
    leaks: r.leaks.length,
    classStats: r.classStats,
  };
}

/** A uniform, deterministic sample: the first n by sha256(seed:image sha256). */
function sample(images: readonly ManifestImage[], n: number, seed: number): ManifestImage[] {
  return images
    .map((img) => ({ img, rank: sha256Hex(`${seed}:${img.sha256}`) }))
    .sort((a, b) => (a.rank < b.rank ? -1 : 1))
    .slice(0, n)
    .map((x) => x.img);
}

/** Stores only a few, oldest out first. */
function remember<K, V>(m: Map<K, V>, k: K, v: V, max: number): V {
  m.set(k, v);
  while (m.size > max) m.delete(m.keys().next().value!);
  return v;
}

export async function datasetsRoutes(fastify: FastifyInstance, opts: DatasetsRoutesOptions): Promise<void> {
  const app = typed(fastify);
  const { db, objects } = opts;
  const tags = ['datasets'];
  const config = { auth: DATASET_ROLES };
  const validations = new Map<string, ReturnType<typeof validationSummary>>();
  const thumbnails = new Map<string, Buffer>();
  const idParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: versionIdSchema } } as const;

  /** The ready or not version named by a full id or a unique prefix; 404 when there is none. */
  const version = async (ref: string): Promise<DatasetVersion> => {
    const v = await findVersion(db, await resolveVersionRef(db, ref));
    if (!v) throw new NotFoundError('dataset version', ref);
    return v;
  };
  const readyVersion = async (ref: string): Promise<DatasetVersion> => {
    const v = await version(ref);
    // Building or failed versions have no published manifest to sample from.
    if (v.status !== 'ready') throw new NotFoundError('ready dataset version', ref);
    return v;
  };

  app.get(
    '/v1/datasets',
    {
      config,
      schema: {
        tags,
        summary: 'Dataset versions, newest first, with their image counts per split × class',
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['datasets'],
            properties: {
              datasets: { type: 'array', items: { type: 'object', additionalProperties: false, required: versionRequired, properties: versionProperties } },
            },
          },
          ...errorResponses([401, 403, 500]),
        },
      },
    },
    async () => ({ datasets: (await listVersions(db)).map(toVersionBody) }),
  );

  app.get(
    '/v1/datasets/:id',
    {
      config,
      schema: {
        tags,
        summary: 'One dataset version: counts, what it was built from, and its validation summary',
        params: idParams,
        response: { 200: detailSchema, ...errorResponses([400, 401, 403, 404, 500]) },
      },
    },
    async (request) => {
      const v = await version(request.params.id);
      let validation = validations.get(v.id) ?? null;
      if (!validation && v.status === 'ready') validation = remember(validations, v.id, validationSummary(await validateVersion(db, v.id)), VALIDATION_CACHE);
      return { ...toVersionBody(v), inputs: v.inputs, build: buildSummary(v.report as Partial<BuildReport> | null), validation };
    },
  );

  app.get(
    '/v1/datasets/:id/samples',
    {
      config,
      schema: {
        tags,
        summary: 'Sample images of a ready version (n per class, or n of one class), with thumbnail URLs',
        description: 'The sample is uniform and deterministic: the same `seed` gives the same images; another seed, others.',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            class: { type: 'string', enum: [...SECONDREAD_CLASSES], description: 'only this class (default: every class of the version)' },
            split: { type: 'string', enum: [...SPLITS], description: 'only this split (default: all)' },
            n: { type: 'integer', minimum: 1, maximum: 64, default: 4, description: 'images per class' },
            seed: { type: 'integer', minimum: 0, maximum: 2_147_483_647, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['version', 'samples'],
            properties: { version: { type: 'string' }, samples: { type: 'array', items: sampleSchema } },
          },
          ...errorResponses([400, 401, 403, 404, 500]),
        },
      },
    },
    async (request) => {
      const { class: cls, split, n, seed } = request.query;
      const v = await readyVersion(request.params.id);
      const images = await listImages(db, v.id, { class: cls, split });
      const byClass = new Map<string, ManifestImage[]>();
      for (const img of images) {
        const list = byClass.get(img.class);
        if (list) list.push(img);
        else byClass.set(img.class, [img]);
      }
      const classes = SECONDREAD_CLASSES.filter((c) => byClass.has(c));
      const samples = classes.flatMap((c) => sample(byClass.get(c)!, n, seed));
      return {
        version: v.id,
        samples: samples.map((s) => ({
          sha256: s.sha256,
          class: s.class,
          split: s.split,
          finalEval: s.finalEval,
          width: s.width,
          height: s.height,
          format: s.format,
          thumbnail: `/v1/datasets/${v.id}/samples/${s.sha256}/thumbnail`,
        })),
      };
    },
  );

  app.get(
    '/v1/datasets/:id/samples/:sha256/thumbnail',
    {
      config,
      schema: {
        tags,
        summary: `A PNG thumbnail (longest side ≤ ${MAX_THUMBNAIL} px, grayscale) of one image of a ready version`,
        description:
          "The image is looked up in the version's manifest by its sha256. Immutable: cached by the browser, and `If-None-Match` with the ETag answers 304.",
        produces: ['image/png'],
        params: { type: 'object', additionalProperties: false, required: ['id', 'sha256'], properties: { id: versionIdSchema, sha256: sha256Schema } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { size: { type: 'integer', minimum: 16, maximum: MAX_THUMBNAIL, default: MAX_THUMBNAIL } },
        },
        response: {
          200: { description: 'image/png', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } },
          304: { type: 'null', description: 'not modified: the ETag given in If-None-Match' },
          ...errorResponses([400, 401, 403, 404, 422, 500]),
        },
      },
    },
    async (request, reply) => {
      const { sha256 } = request.params;
      const { size } = request.query;
      const v = await readyVersion(request.params.id);
      const etag = `"${v.id}-${sha256}-${size}"`;
      // A version's images never change: the browser may keep the thumbnail; it is private (behind a token).
      void reply.header('cache-control', 'private, max-age=31536000, immutable').header('etag', etag);
      if ((request.headers['if-none-match'] ?? '').split(',').some((t) => t.trim() === etag)) return reply.code(304).send(null);
      const key = `${v.id}/${sha256}/${size}`;
      let png = thumbnails.get(key);
      if (!png) {
        const row = await db
          .selectFrom('dataset_images')
          .selectAll()
          .where('version_id', '=', v.id)
          .where('sha256', '=', sha256)
          .orderBy('object_key')
          .executeTakeFirst();
        if (!row) throw new NotFoundError('image', `${v.id}/${sha256}`);
        const bytes = await objects.getBytes(fromImageRow(row).objectKey);
        const pipeline = await imagePipeline(bytes); // a DICOM entry is rendered with its own window
        png = remember(
          thumbnails,
          key,
          await decodeOrThrow(() => pipeline.greyscale().resize(size, size, { fit: 'inside', withoutEnlargement: true }).toColourspace('b-w').png().toBuffer()),
          THUMBNAIL_CACHE,
        );
      }
      return reply.type('image/png').send(png);
    },
  );
}
