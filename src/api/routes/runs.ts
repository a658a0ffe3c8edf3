// GET /v1/runs…: the tracked training runs for the UI — the list, one run (params, status, final
// metrics, artifacts), its metric series for the curves, and runs side by side. The same records as
// `secondread runs ls | show | compare` (src/tracking/run-report.ts), as JSON.
import type { FastifyInstance } from 'fastify';

import { ValidationError } from '../../core/errors.js';
import { type MetricPoint, RUN_STATUSES, type Tracker } from '../../tracking/index.js';
import { compareRuns, runDetails, type RunWithExperiment } from '../../tracking/run-report.js';
import { errorResponses } from '../schemas.js';
import { typed } from '../type-provider.js';

export interface RunsRoutesOptions {
  tracker: Tracker;
}

export const RUN_ROLES = ['ml-engineer', 'admin'] as const;

/** Runs one comparison may hold (a table wider than this is not readable). */
export const MAX_COMPARED = 10;

const RUN_ID = '[A-Za-z0-9_-]{1,64}';
const runIdSchema = { type: 'string', pattern: `^${RUN_ID}$`, description: 'run id' } as const;
/** A number that may be missing or not finite (a diverged loss): null in JSON. */
const figure = { type: ['number', 'null'] } as const;
const figures = { type: ['object', 'null'], additionalProperties: figure } as const;

const runProperties = {
  id: { type: 'string' },
  name: { type: 'string' },
  experiment: { type: 'string' },
  experimentId: { type: 'string' },
  status: { type: 'string', enum: [...RUN_STATUSES] },
  params: { type: 'object', additionalProperties: true },
  tags: { type: 'object', additionalProperties: { type: 'string' } },
  datasetVersion: { type: ['string', 'null'] },
  parentRunId: { type: ['string', 'null'] },
  codeVersion: { type: ['string', 'null'] },
  host: { type: 'string' },
  startedAt: { type: 'string' },
  endedAt: { type: ['string', 'null'] },
  summary: { ...figures, description: 'the final scalars the run recorded when it finished' },
} as const;
const runSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'experiment', 'status', 'startedAt', 'endedAt', 'summary'],
  properties: runProperties,
} as const;
const comparisonRow = (values: object) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['key', 'values', 'differs'],
    properties: { key: { type: 'string' }, values: { type: 'array', items: values }, differs: { type: 'boolean' } },
  }) as const;

/** JSON has no NaN or Infinity: a value that is not finite is sent as null. */
const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);
const finiteValues = (o: Record<string, number> | null): Record<string, number | null> | null =>
  o ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, finite(v)])) : null;
const runBody = (r: RunWithExperiment) => ({ ...r, summary: finiteValues(r.summary) });

/** Evenly spaced points of a long series, always keeping the last (the final value). */
function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)]!);
}

/** A series' name: the key, with the split in brackets when the key does not already say it (as latestMetrics names them). */
const seriesName = (p: MetricPoint): string => (p.split && !p.key.startsWith(`${p.split}/`) ? `${p.key}[${p.split}]` : p.key);

export async function runsRoutes(fastify: FastifyInstance, opts: RunsRoutesOptions): Promise<void> {
  const app = typed(fastify);
  const { tracker } = opts;
  const tags = ['runs'];
  const config = { auth: RUN_ROLES };
  const idParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: runIdSchema } } as const;

  app.get(
    '/v1/runs',
    {
      config,
      schema: {
        tags,
        summary: 'Training runs, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            experiment: { type: 'string', minLength: 1, maxLength: 100, description: 'only runs of this experiment (by name)' },
            status: { type: 'string', enum: [...RUN_STATUSES] },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: {
          200: { type: 'object', additionalProperties: false, required: ['runs'], properties: { runs: { type: 'array', items: runSchema } } },
          ...errorResponses([400, 401, 403, 500]),
        },
      },
    },
    async (request) => {
      const { experiment, status, limit } = request.query;
      return { runs: (await tracker.listRuns({ experiment, status, limit })).map(runBody) };
    },
  );

  // Next to /v1/runs/:id: the router prefers the static segment, so `compare` is never taken for an id.
  app.get(
    '/v1/runs/compare',
    {
      config,
      schema: {
        tags,
        summary: 'Runs side by side: params and final metrics, rows marked where the runs differ',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['ids'],
          properties: {
            ids: { type: 'string', pattern: `^${RUN_ID}(,${RUN_ID}){1,${MAX_COMPARED - 1}}$`, description: `2-${MAX_COMPARED} run ids, comma-separated` },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['runs', 'params', 'metrics'],
            properties: {
              runs: { type: 'array', items: runSchema },
              params: { type: 'array', items: comparisonRow({ type: ['string', 'null'] }) },
              metrics: { type: 'array', items: comparisonRow(figure) },
            },
          },
          ...errorResponses([400, 401, 403, 404, 500]),
        },
      },
    },
    async (request) => {
      const ids = request.query.ids.split(',');
      if (new Set(ids).size !== ids.length) throw new ValidationError('ids: each run may be named once');
      const c = await compareRuns(tracker, ids);
      return {
        runs: c.runs.map(runBody),
        params: c.params,
        metrics: c.metrics.map((m) => ({ ...m, values: m.values.map((v) => (v === null ? null : finite(v))) })),
      };
    },
  );

  app.get(
    '/v1/runs/:id',
    {
      config,
      schema: {
        tags,
        summary: 'One run: params, tags, status, lineage, final metrics and artifacts',
        params: idParams,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['run', 'metrics', 'artifacts'],
            properties: {
              run: runSchema,
              metrics: { ...figures, type: 'object', description: 'the last value of every logged metric (system metrics left out)' },
              artifacts: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['name', 'size'],
                  properties: { name: { type: 'string' }, size: { type: 'integer' }, contentType: { type: ['string', 'null'] }, createdAt: { type: 'string' } },
                },
              },
            },
          },
          ...errorResponses([400, 401, 403, 404, 500]),
        },
      },
    },
    async (request) => {
      const d = await runDetails(tracker, request.params.id);
      return {
        run: runBody(d.run),
        metrics: finiteValues(d.metrics)!,
        artifacts: d.artifacts.map((a) => ({ name: a.name, size: a.size, contentType: a.contentType, createdAt: a.createdAt })),
      };
    },
  );

  app.get(
    '/v1/runs/:id/metrics',
    {
      config,
      schema: {
        tags,
        summary: "A run's metric series by step (and epoch), for its curves",
        description:
          'Series are named like the final metrics: the key, plus `[split]` when the key does not already name its split. A series longer than `maxPoints` is thinned to evenly spaced points (its last point kept) and says so.',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200, description: 'only this metric key' },
            maxPoints: { type: 'integer', minimum: 10, maximum: 100_000, default: 2000 },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['runId', 'series', 'points'],
            properties: {
              runId: { type: 'string' },
              series: {
                type: 'object',
                additionalProperties: {
                  type: 'array',
                  items: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['key', 'step', 'value'],
                    properties: {
                      key: { type: 'string' },
                      split: { type: 'string' },
                      step: { type: 'integer' },
                      epoch: { type: 'integer' },
                      value: figure,
                      at: { type: 'string' },
                    },
                  },
                },
              },
              points: {
                type: 'object',
                additionalProperties: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['total', 'sent'],
                  properties: { total: { type: 'integer' }, sent: { type: 'integer' } },
                },
                description: 'per series: points recorded and points sent',
              },
            },
          },
          ...errorResponses([400, 401, 403, 404, 500]),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { name, maxPoints } = request.query;
      const grouped = new Map<string, MetricPoint[]>();
      for (const p of await tracker.metrics(id, name)) {
        const k = seriesName(p);
        const list = grouped.get(k);
        if (list) list.push(p);
        else grouped.set(k, [p]);
      }
      const series: Record<string, (Omit<MetricPoint, 'value'> & { value: number | null })[]> = {};
      const points: Record<string, { total: number; sent: number }> = {};
      for (const [k, all] of grouped) {
        // Tracker returns a key's points ordered by split then step; a series is one split.
        const sent = thin(all, maxPoints);
        series[k] = sent.map((p) => ({ ...p, value: finite(p.value) }));
        points[k] = { total: all.length, sent: sent.length };
      }
      return { runId: id, series, points };
    },
  );
}
