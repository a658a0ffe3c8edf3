// How a route's TypeScript types come from its JSON schema: each plugin calls `typed(app)` and
// writes its schemas `as const`; json-schema-to-ts infers params, querystring, body and every reply
// from them (the shared error bodies resolved by their $id), so the schema is written once and the
// handler is checked against it — no request or response interface beside it.
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

import type { sharedSchemas } from './schemas.js';

type SchemaOptions = { references: [...typeof sharedSchemas] };

export type ApiTypeProvider = JsonSchemaToTsProvider<{ ValidatorSchemaOptions: SchemaOptions; SerializerSchemaOptions: SchemaOptions }>;

/** The app, as route plugins register on it: types inferred from the schemas. */
export function typed(app: FastifyInstance) {
  return app.withTypeProvider<ApiTypeProvider>();
}

/** The JSON a schema describes (for a wire type used outside its route, e.g. by the web UI). */
export type Wire<S extends JSONSchema> = FromSchema<S, SchemaOptions>;
