// How a route's TypeScript types come from its JSON schema: each plugin calls `typed(app)` and
// writes its schemas `as const`; json-schema-to-ts infers params, querystring, body and every reply
// from them (the shared error bodies resolved by their $id), so the schema is written once and the
// handler is checked against it — no request or response interface beside it.
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance, FastifyTypeProvider } from 'fastify';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

import type { sharedSchemas } from './schemas.js';

type SchemaOptions = { references: [...typeof sharedSchemas] };
/** Replies: a `string`/`binary` body (an image) is sent as bytes. */
type ReplyOptions = SchemaOptions & { deserialize: [{ pattern: { type: 'string'; format: 'binary' }; output: Uint8Array | string }] };

export type ApiTypeProvider = JsonSchemaToTsProvider<{ ValidatorSchemaOptions: SchemaOptions; SerializerSchemaOptions: ReplyOptions }>;

/** The app, as route plugins register on it: types inferred from the schemas. */
export function typed(app: FastifyInstance) {
  return app.withTypeProvider<ApiTypeProvider>();
}

/**
 * Request types from the schemas, replies unchecked: for routes whose replies are records declared by
 * the service below (the workflow's views, src/workflow/views.ts, which type some enums as strings);
 * the response schemas still shape what is sent.
 */
export interface RequestTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends JSONSchema ? FromSchema<this['schema'], SchemaOptions> : unknown;
  serializer: unknown;
}

export function typedRequests(app: FastifyInstance) {
  return app.withTypeProvider<RequestTypeProvider>();
}

/** The JSON a schema describes (for a wire type used outside its route, e.g. by the web UI). */
export type Wire<S extends JSONSchema> = FromSchema<S, SchemaOptions>;
