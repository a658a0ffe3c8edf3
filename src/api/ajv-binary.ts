// An Ajv keyword for raw binary request bodies (a Buffer after our content-type parser), the sibling
// of @fastify/multipart's `isFile`: it validates that the body is bytes, and rewrites its schema to
// `{type: string, format: binary}` so the OpenAPI document shows an upload, as OpenAPI 3 spells it.
interface KeywordHost {
  addKeyword(def: {
    keyword: string;
    compile: (schema: unknown, parent: Record<string, unknown>) => (data: unknown) => boolean;
    error?: { message: string };
  }): unknown;
}

export function ajvBinaryBodyPlugin(ajv: KeywordHost): unknown {
  return ajv.addKeyword({
    keyword: 'binaryBody',
    compile: (_schema, parent) => {
      // Runs after the type checks were generated for this schema, so the rewrite only informs the docs.
      parent.type = 'string';
      parent.format = 'binary';
      delete parent.binaryBody;
      return (data) => Buffer.isBuffer(data);
    },
    error: { message: 'must be the raw image bytes' },
  });
}
