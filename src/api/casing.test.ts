// One field casing on the wire (docs/api.md, "Field names"): every property, query and path
// parameter and form field that the OpenAPI document lists for a /v1 route is camelCase (no `_` or
// `-`), in requests and responses, shared schemas ($ref) included. The KServe v2 routes under /v2
// keep the protocol's snake_case and are not checked here. Keys of maps (`additionalProperties`:
// run params, per-modality figures) are data, not field names, and are not walked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ApiFixture, openApiFixture } from './testing/fixture.js';

let f: ApiFixture;
beforeAll(async () => {
  f = await openApiFixture();
});
afterAll(async () => {
  await f.close();
});

interface OpenApiDoc {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, unknown> };
}

const CAMEL = /^[A-Za-z][A-Za-z0-9]*$/;

/** Every field name a schema (or any JSON under it) declares, as `where: name`, following $refs once each. */
function fieldNames(node: unknown, where: string, doc: OpenApiDoc, seen = new Set<string>()): string[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => fieldNames(n, `${where}[${i}]`, doc, seen));
  if (node === null || typeof node !== 'object') return [];
  const o = node as Record<string, unknown>;
  const out: string[] = [];
  if (typeof o.$ref === 'string') {
    const name = o.$ref.split('/').pop()!;
    if (!seen.has(name)) {
      seen.add(name);
      out.push(...fieldNames(doc.components.schemas[name], `${where} → ${name}`, doc, seen));
    }
  }
  if (o.properties && typeof o.properties === 'object') {
    for (const [k, v] of Object.entries(o.properties)) {
      out.push(`${where}: ${k}`);
      out.push(...fieldNames(v, `${where}.${k}`, doc, seen));
    }
  }
  if (Array.isArray(o.required)) out.push(...o.required.filter((r): r is string => typeof r === 'string').map((r) => `${where}: ${r}`));
  // Parameters (query, path) are named by `name`.
  if (typeof o.name === 'string' && typeof o.in === 'string') out.push(`${where} (${o.in}): ${o.name}`);
  for (const [k, v] of Object.entries(o)) {
    if (k === 'properties' || k === '$ref' || k === 'additionalProperties' || k === 'examples' || k === 'example') continue;
    out.push(...fieldNames(v, where, doc, seen));
  }
  return out;
}

describe('field casing on /v1', () => {
  it('every field, parameter and form field of every /v1 route is camelCase (shared schemas included)', async () => {
    const doc = (await f.app.inject({ method: 'GET', url: '/docs/json' })).json<OpenApiDoc>();
    const v1 = Object.entries(doc.paths).filter(([path]) => path.startsWith('/v1/'));
    expect(v1.length).toBeGreaterThanOrEqual(25);
    const names = v1.flatMap(([path, ops]) => Object.entries(ops).flatMap(([method, op]) => fieldNames(op, `${method.toUpperCase()} ${path}`, doc)));
    // The walk reaches the shared error body and the fields of the routes that were migrated.
    for (const n of ['requestId', 'latencyMs', 'studyId', 'datasetVersion', 'runId', 'latestVersion', 'macroF1', 'truthClass'])
      expect(
        names.some((x) => x.endsWith(`: ${n}`)),
        n,
      ).toBe(true);
    expect(names.filter((n) => !CAMEL.test(n.slice(n.lastIndexOf(': ') + 2)))).toEqual([]);
  });

  it('the KServe v2 routes keep the protocol’s snake_case', async () => {
    const res = await f.app.inject({ method: 'GET', url: '/v2/models/absent', headers: f.auth() });
    expect(Object.keys(res.json()).sort()).toEqual(['code', 'error', 'request_id']);
  });
});
