// The model registry over HTTP. `modelsRoutes`: GET /v1/models and /v1/models/:name — what can be
// served, under which aliases (read-only). `modelCatalogRoutes`
// (for the UI): a version's model card, the alias history, and promotion / rollback of an alias by an
// ML engineer or admin — each change recorded by the registry's alias history with the token's user
// as who and the request's reason as why, exactly as `secondread models promote|rollback` records it.
import type { FastifyInstance } from 'fastify';

import { NotFoundError } from '../../core/errors.js';
import type { Alias, AliasEvent, ModelRegistry } from '../../tracking/index.js';
import { aliasSchema, errorResponses, modelNameSchema, versionSchema } from '../schemas.js';
import { typed } from '../type-provider.js';
import type { RegistryPort } from '../types.js';

export interface ModelsRoutesOptions {
  registry: RegistryPort;
}

const aliasesSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { staging: { type: 'integer' }, canary: { type: 'integer' }, production: { type: 'integer' } },
} as const;

export async function modelsRoutes(fastify: FastifyInstance, opts: ModelsRoutesOptions): Promise<void> {
  const app = typed(fastify);
  const { registry } = opts;
  const tags = ['models'];

  app.get(
    '/v1/models',
    {
      schema: {
        tags,
        summary: 'Registered models with their latest version and aliases',
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['models'],
            properties: {
              models: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['name', 'latestVersion', 'aliases', 'createdAt'],
                  properties: { name: { type: 'string' }, latestVersion: { type: 'integer' }, aliases: aliasesSchema, createdAt: { type: 'string' } },
                },
              },
            },
          },
          ...errorResponses([401, 403, 500]),
        },
      },
    },
    async () => ({
      models: (await registry.listModels()).map((m) => ({ name: m.name, latestVersion: m.latestVersion, aliases: m.aliases, createdAt: m.createdAt })),
    }),
  );

  app.get(
    '/v1/models/:name',
    {
      schema: {
        tags,
        summary: "A model's versions (classes, input, source, lineage) and aliases",
        params: { type: 'object', required: ['name'], properties: { name: modelNameSchema } },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'aliases', 'versions'],
            properties: {
              name: { type: 'string' },
              aliases: aliasesSchema,
              versions: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['version', 'source', 'classes', 'inputSize', 'createdAt', 'createdBy'],
                  properties: {
                    version: { type: 'integer' },
                    source: { type: 'string' },
                    runId: { type: ['string', 'null'] },
                    datasetVersion: { type: ['string', 'null'] },
                    classes: { type: 'array', items: { type: 'string' } },
                    inputSize: { type: 'integer' },
                    temperature: { type: 'number' },
                    onnxSha256: { type: 'string' },
                    notes: { type: ['string', 'null'] },
                    createdAt: { type: 'string' },
                    createdBy: { type: 'string' },
                  },
                },
              },
            },
          },
          ...errorResponses([400, 401, 403, 404, 500]),
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      const [aliases, versions] = await Promise.all([registry.aliases(name), registry.listVersions(name)]);
      return {
        name,
        aliases,
        versions: versions.map((v) => ({
          version: v.version,
          source: v.source,
          runId: v.runId,
          datasetVersion: v.datasetVersion,
          classes: v.metadata.classes,
          inputSize: v.metadata.preprocessing.size,
          temperature: v.metadata.temperature,
          onnxSha256: v.onnxSha256,
          notes: v.notes,
          createdAt: v.createdAt,
          createdBy: v.createdBy,
        })),
      };
    },
  );
}

/** What the catalog routes call of the registry. */
export type ModelCatalogPort = Pick<ModelRegistry, 'resolve' | 'modelCard' | 'aliases' | 'aliasHistory' | 'setAlias' | 'rollback'>;

export interface ModelCatalogRoutesOptions {
  registry: ModelCatalogPort;
}

/** Who may move an alias (serving follows the move within its alias poll interval). */
export const ALIAS_CHANGE_ROLES = ['ml-engineer', 'admin'] as const;

const reasonSchema = { type: 'string', minLength: 1, maxLength: 2000, description: 'why (kept in the alias history)' } as const;
const eventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['seq', 'alias', 'action', 'version', 'previousVersion', 'by', 'reason', 'at'],
  properties: {
    seq: { type: 'integer' },
    alias: { type: 'string' },
    action: { type: 'string', enum: ['set', 'rollback'] },
    version: { type: 'integer', description: 'the version the alias points at after the event' },
    previousVersion: { type: ['integer', 'null'] },
    by: { type: 'string' },
    reason: { type: 'string' },
    at: { type: 'string' },
  },
} as const;
const changeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'alias', 'aliases', 'event'],
  properties: { name: { type: 'string' }, alias: { type: 'string' }, aliases: aliasesSchema, event: eventSchema },
} as const;
const promoteResponse = {
  ...changeSchema,
  required: [...changeSchema.required, 'version', 'previousVersion'],
  properties: { ...changeSchema.properties, version: { type: 'integer' }, previousVersion: { type: ['integer', 'null'] } },
} as const;
const rollbackResponse = {
  ...changeSchema,
  required: [...changeSchema.required, 'from', 'to'],
  properties: { ...changeSchema.properties, from: { type: 'integer' }, to: { type: 'integer' } },
} as const;

export async function modelCatalogRoutes(fastify: FastifyInstance, opts: ModelCatalogRoutesOptions): Promise<void> {
  const app = typed(fastify);
  const { registry } = opts;
  const tags = ['models'];
  const aliasParams = { type: 'object', required: ['name', 'alias'], properties: { name: modelNameSchema, alias: aliasSchema } } as const;
  const changeErrors = errorResponses([400, 401, 403, 404, 409, 500]);

  /** The event a change just appended (found by what it recorded; a concurrent change by someone else is skipped). */
  const lastEvent = async (name: string, alias: Alias, match: (e: AliasEvent) => boolean): Promise<AliasEvent> => {
    const e = (await registry.aliasHistory(name, alias)).findLast(match);
    if (!e) throw new NotFoundError('alias event', `${name}@${alias}`);
    return e;
  };

  app.get(
    '/v1/models/:name/versions/:version',
    {
      schema: {
        tags,
        summary:
          'One model version: its record, the aliases pointing at it, and its model card (lineage, metrics per split and class, calibration, limitations)',
        params: { type: 'object', required: ['name', 'version'], properties: { name: modelNameSchema, version: versionSchema } },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: [
              'name',
              'version',
              'source',
              'classes',
              'inputSize',
              'temperature',
              'onnxSha256',
              'onnxBytes',
              'createdAt',
              'createdBy',
              'aliases',
              'card',
            ],
            properties: {
              name: { type: 'string' },
              version: { type: 'integer' },
              source: { type: 'string', enum: ['run', 'import'] },
              runId: { type: ['string', 'null'] },
              datasetVersion: { type: ['string', 'null'] },
              classes: { type: 'array', items: { type: 'string' } },
              inputSize: { type: 'integer' },
              temperature: { type: 'number' },
              onnxSha256: { type: 'string' },
              onnxBytes: { type: 'integer' },
              notes: { type: ['string', 'null'] },
              createdAt: { type: 'string' },
              createdBy: { type: 'string' },
              aliases: { type: 'array', items: { type: 'string' }, description: 'aliases that point at this version now' },
              card: {
                type: 'object',
                additionalProperties: true,
                description: 'the model card JSON (schema `secondread.model-card/1`, src/tracking/model-card.ts)',
              },
            },
          },
          ...errorResponses([400, 401, 403, 404, 500]),
        },
      },
    },
    async (request) => {
      const { name, version } = request.params;
      const mv = await registry.resolve(name, { version });
      const [card, aliases] = await Promise.all([registry.modelCard(name, version), registry.aliases(name)]);
      return {
        name: mv.name,
        version: mv.version,
        source: mv.source,
        runId: mv.runId,
        datasetVersion: mv.datasetVersion,
        classes: mv.metadata.classes,
        inputSize: mv.metadata.preprocessing.size,
        temperature: mv.metadata.temperature,
        onnxSha256: mv.onnxSha256,
        onnxBytes: mv.onnxBytes,
        notes: mv.notes,
        createdAt: mv.createdAt,
        createdBy: mv.createdBy,
        aliases: (Object.entries(aliases) as [Alias, number][]).filter(([, v]) => v === mv.version).map(([a]) => a),
        card: card as unknown as Record<string, unknown>,
      };
    },
  );

  app.get(
    '/v1/models/:name/aliases/history',
    {
      schema: {
        tags,
        summary: "Every change of a model's aliases, oldest first: who moved which alias to which version, when and why",
        params: { type: 'object', required: ['name'], properties: { name: modelNameSchema } },
        querystring: { type: 'object', additionalProperties: false, properties: { alias: aliasSchema } },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'aliases', 'events'],
            properties: { name: { type: 'string' }, aliases: aliasesSchema, events: { type: 'array', items: eventSchema } },
          },
          ...errorResponses([400, 401, 403, 404, 500]),
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      const [aliases, events] = await Promise.all([registry.aliases(name), registry.aliasHistory(name, request.query.alias)]);
      return { name, aliases, events };
    },
  );

  app.post(
    '/v1/models/:name/aliases/:alias',
    {
      config: { auth: ALIAS_CHANGE_ROLES },
      schema: {
        tags,
        summary: 'Promote: point an alias at a version (recorded with the caller and the reason)',
        description:
          'Serving picks the move up within its alias poll interval (`--alias-poll-ms`) and hot-swaps. 409 `conflict` when the alias already points at that version.',
        params: aliasParams,
        body: { type: 'object', additionalProperties: false, required: ['version', 'reason'], properties: { version: versionSchema, reason: reasonSchema } },
        response: {
          200: promoteResponse,
          ...changeErrors,
        },
      },
    },
    async (request) => {
      const { name, alias } = request.params;
      const { version, reason } = request.body;
      const by = request.user!.name;
      await registry.setAlias(name, alias, version, { by, reason });
      const event = await lastEvent(name, alias, (e) => e.action === 'set' && e.by === by && e.version === version && e.reason === reason);
      return { name, alias, version, previousVersion: event.previousVersion, aliases: await registry.aliases(name), event };
    },
  );

  app.post(
    '/v1/models/:name/aliases/:alias/rollback',
    {
      config: { auth: ALIAS_CHANGE_ROLES },
      schema: {
        tags,
        summary: 'Roll an alias back to the version it pointed at before its latest promotion still in effect',
        description: 'A second rollback goes one further back. 409 `conflict` when the alias is not set or has no earlier version.',
        params: aliasParams,
        body: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: reasonSchema } },
        response: { 200: rollbackResponse, ...changeErrors },
      },
    },
    async (request) => {
      const { name, alias } = request.params;
      const { reason } = request.body;
      const by = request.user!.name;
      const { from, to } = await registry.rollback(name, alias, { by, reason });
      const event = await lastEvent(
        name,
        alias,
        (e) => e.action === 'rollback' && e.by === by && e.version === to && e.previousVersion === from && e.reason === reason,
      );
      return { name, alias, from, to, aliases: await registry.aliases(name), event };
    },
  );
}
