// GET /v1/models and GET /v1/models/:name: the registry, read-only — what can be served, under
// which aliases. Changing aliases stays a deliberate CLI act (`secondread models promote`).
import type { FastifyInstance } from 'fastify';
import { errorResponses, modelNameSchema } from '../schemas.js';
import type { RegistryPort } from '../types.js';

export interface ModelsRoutesOptions {
  registry: RegistryPort;
}

const aliasesSchema = { type: 'object', properties: { staging: { type: 'integer' }, canary: { type: 'integer' }, production: { type: 'integer' } } } as const;

export async function modelsRoutes(app: FastifyInstance, opts: ModelsRoutesOptions): Promise<void> {
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
            required: ['models'],
            properties: {
              models: { type: 'array', items: { type: 'object', required: ['name', 'latest_version', 'aliases', 'created_at'], properties: { name: { type: 'string' }, latest_version: { type: 'integer' }, aliases: aliasesSchema, created_at: { type: 'string' } } } },
            },
          },
          ...errorResponses([401, 403, 500]),
        },
      },
    },
    async () => ({ models: (await registry.listModels()).map((m) => ({ name: m.name, latest_version: m.latestVersion, aliases: m.aliases, created_at: m.createdAt })) }),
  );

  app.get<{ Params: { name: string } }>(
    '/v1/models/:name',
    {
      schema: {
        tags,
        summary: "A model's versions (classes, input, source, lineage) and aliases",
        params: { type: 'object', required: ['name'], properties: { name: modelNameSchema } },
        response: {
          200: {
            type: 'object',
            required: ['name', 'aliases', 'versions'],
            properties: {
              name: { type: 'string' },
              aliases: aliasesSchema,
              versions: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['version', 'source', 'classes', 'input_size', 'created_at', 'created_by'],
                  properties: {
                    version: { type: 'integer' },
                    source: { type: 'string' },
                    run_id: { type: ['string', 'null'] },
                    dataset_version: { type: ['string', 'null'] },
                    classes: { type: 'array', items: { type: 'string' } },
                    input_size: { type: 'integer' },
                    temperature: { type: 'number' },
                    onnx_sha256: { type: 'string' },
                    notes: { type: ['string', 'null'] },
                    created_at: { type: 'string' },
                    created_by: { type: 'string' },
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
          run_id: v.runId,
          dataset_version: v.datasetVersion,
          classes: v.metadata.classes,
          input_size: v.metadata.preprocessing.size,
          temperature: v.metadata.temperature,
          onnx_sha256: v.onnxSha256,
          notes: v.notes,
          created_at: v.createdAt,
          created_by: v.createdBy,
        })),
      };
    },
  );
}
