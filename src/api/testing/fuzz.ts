// The API fuzzer (fast-check) shared by fuzz.test.ts (SQLite, unit tier) and fuzz.integration.test.ts
// (PostgreSQL): walks the OpenAPI document the app serves and, for every route × method, sends generated
// bad requests — wrong types, huge and unicode/control strings, path-like and `..` ids, missing and extra
// fields, malformed JSON, wrong content types, random bytes for images and DICOM, oversize bodies, bad
// query parameters and Accept headers — unauthenticated, with a garbage token, with a role the route
// refuses and with one it allows. `problem` says what is wrong with an answer: a 5xx, a missing security
// header, an error that is not JSON with a stable `code`, a stack frame or file path in a body. No vitest import.
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';

import { grayPng } from '../../data/images/testing.js';
import { PacsExportStore } from '../../gateway/exports-store.js';
import { type ApiFixture, type ApiFixtureOptions, openApiFixture } from './fixture.js';
import { multipartBody, pngHeaderClaiming, postStudy } from './http.js';

/** Small limits, so oversize bodies are cheap to send. */
const MAX_UPLOAD = 64 * 1024;
const MAX_STOW = 128 * 1024;

interface Param {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Record<string, unknown>;
}

export interface Operation {
  method: string;
  path: string;
  params: Param[];
  /** Media types of the request body, and the JSON body's declared property names. */
  bodyTypes: string[];
  bodyFields: string[];
  /** 'public', 'any', or the roles allowed (as the description states them). */
  auth: 'public' | 'any' | string[];
}

type Role = keyof ApiFixture['tokens'];
const ROLE_BY_NAME: Record<string, Role> = { reader: 'reader', adjudicator: 'adjudicator', 'ml-engineer': 'engineer', admin: 'admin' };

function operations(doc: { paths: Record<string, Record<string, Record<string, unknown>>>; components?: { schemas?: Record<string, unknown> } }): Operation[] {
  const out: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const description = typeof op.description === 'string' ? op.description : '';
      const rule = /Requires a token \(([^)]*)\)/.exec(description)?.[1];
      const auth: Operation['auth'] = rule === undefined ? 'public' : rule === 'any role' ? 'any' : rule.replace(/^role /, '').split(' or ');
      const content = ((op.requestBody as { content?: Record<string, { schema?: Record<string, unknown> }> } | undefined)?.content ?? {}) as Record<
        string,
        { schema?: Record<string, unknown> }
      >;
      let schema = content['application/json']?.schema ?? content['multipart/form-data']?.schema;
      if (schema && typeof schema.$ref === 'string') schema = doc.components?.schemas?.[schema.$ref.split('/').pop()!] as Record<string, unknown>;
      out.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters as Param[] | undefined) ?? [],
        bodyTypes: Object.keys(content),
        bodyFields: Object.keys((schema?.properties as Record<string, unknown> | undefined) ?? {}),
        auth,
      });
    }
  }
  return out;
}

// ---- Generators ----

const NASTY = [
  '..',
  '../..',
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '/etc/passwd',
  'C:\\boot.ini',
  'file:///etc/passwd',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[31mred',
  '\r\nX-Injected: 1',
  'a\u202eb',
  '\ud800',
  '\udfff\ud800',
  '😀',
  '\ufeff',
  'İ',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '-1',
  '0',
  '-0',
  '1e309',
  'NaN',
  'Infinity',
  '9007199254740993',
  '0x10',
  '1.2.3',
  '1.2.840.10008.5.1.4.1.1.7',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  '"; DROP TABLE users; --',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  ' ',
  '',
  '%',
  '%zz',
  '%00',
  'A'.repeat(129),
  'x'.repeat(300),
  'é'.repeat(200),
  'ab'.repeat(5000),
];

const badString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('.', '/', '\\', '%', '\u0000', '\n', 'a', '1'), maxLength: 30 }) },
);

const badValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: badString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, true, false, null) },
  { weight: 1, arbitrary: fc.array(badString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(badString, badString, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(20_000)) },
);

/** A URL-encoded string; lone surrogates (which encodeURIComponent refuses) become invalid UTF-8 escapes. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

function asText(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined');
}

/** A path segment: mostly an encoded bad string, sometimes raw escapes that decode to nonsense or traverse. */
const segment = fc.oneof(
  { weight: 4, arbitrary: badString.map(enc) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('..', '.', '%2e%2e', '%2e%2e%2f%2e%2e', '..%2f..%2fetc%2fpasswd', '%ff', '%C0%AF', '%ED%A0%80', '%00', '%', 'a%2Fb'),
  },
  { weight: 1, arbitrary: fc.constantFrom('{{study}}', 'absent', 'ok') },
);

const queryValue = fc.oneof(
  badValue.map((v) => enc(asText(v))),
  fc.constantFrom('%ff', '%', '', '-1', '0', '99999999999999999999', '1.5', 'true'),
);

const ACCEPTS = [
  '*/*',
  'application/json',
  'application/dicom+json',
  'multipart/related; type="application/dicom"',
  'multipart/related; type="application/octet-stream"; transfer-syntax=*',
  'image/png',
  'text/html',
  'garbage/;;;,,',
  'application/json;q=0',
  'multipart/related; type="',
  ',,,',
];

const WRONG_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=zz',
  'multipart/related; type="application/dicom"; boundary=zz',
  'multipart/related',
  'application/json; charset=utf-16',
  'image/png',
  'image/jpeg',
  'application/dicom',
  'application/octet-stream',
  ';;;',
];

interface FuzzRequest {
  auth: 'none' | 'garbage' | 'basic' | 'wrong-role' | 'right-role';
  path: string[];
  query: string;
  accept: string | undefined;
  body: { kind: string; contentType: string | undefined; payload: Buffer | string | undefined };
}

function bodyArbitrary(op: Operation, images: Buffer[]): fc.Arbitrary<FuzzRequest['body']> {
  const declared = op.bodyTypes.length > 0 ? op.bodyTypes : ['application/json'];
  const contentType = fc.oneof(fc.constantFrom(...declared), fc.constantFrom(...WRONG_TYPES), fc.constant(undefined));
  const fieldName = op.bodyFields.length > 0 ? fc.oneof(fc.constantFrom(...op.bodyFields), badString) : badString;
  const jsonObject = fc
    .tuple(fc.subarray(op.bodyFields), fc.array(fc.tuple(fieldName, badValue), { maxLength: 4 }), fc.array(badValue, { minLength: 8, maxLength: 8 }))
    .map(([keep, extra, values]) => {
      const o: Record<string, unknown> = {};
      keep.forEach((k, i) => (o[k] = values[i % values.length]));
      for (const [k, v] of extra) o[k] = v;
      return JSON.stringify(o);
    });
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
    fc.constantFrom(...images),
    fc.tuple(fc.constantFrom(...images), fc.nat()).map(([img, n]) => img.subarray(0, n % img.length)),
    fc.constant(Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.from([0x02, 0x00, 0x10, 0x00, 0x55, 0x49, 0xff, 0xff])])),
  );
  const multipart = fc
    .tuple(
      fc.array(fc.tuple(fieldName, badValue), { maxLength: 4 }),
      fc.array(fc.record({ bytes, filename: badString, field: fc.oneof(fc.constant('file'), fieldName), type: fc.constantFrom(...WRONG_TYPES) }), {
        maxLength: 3,
      }),
    )
    .map(([fields, files]) => {
      const m = multipartBody(
        files.map((f) => ({ ...f, filename: f.filename.replace(/["\r\n]/g, '_') })),
        Object.fromEntries(fields.map(([k, v]) => [k.replace(/["\r\n]/g, '_'), asText(v).replace(/\r\n/g, '\n')])),
      );
      return { kind: 'multipart', contentType: m.headers['content-type'], payload: m.payload };
    });
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant({ kind: 'none', contentType: undefined, payload: undefined }) },
    { weight: 3, arbitrary: fc.tuple(contentType, jsonObject).map(([ct, p]) => ({ kind: 'json-object', contentType: ct, payload: p })) },
    {
      weight: 1,
      arbitrary: fc.tuple(contentType, fc.jsonValue({ maxDepth: 3 })).map(([ct, v]) => ({ kind: 'json-value', contentType: ct, payload: JSON.stringify(v) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          contentType,
          fc.constantFrom(
            '{',
            '{"a":',
            '\u0000',
            '['.repeat(100_000),
            '{"__proto__":{"admin":true}}',
            '{"constructor":{"prototype":{"admin":true}}}',
            'null',
            '',
            '\ufeff{}',
          ),
        )
        .map(([ct, p]) => ({ kind: 'malformed', contentType: ct, payload: p })),
    },
    { weight: 2, arbitrary: fc.tuple(contentType, bytes).map(([ct, p]) => ({ kind: 'bytes', contentType: ct, payload: p })) },
    { weight: 2, arbitrary: multipart },
    {
      weight: 1,
      arbitrary: fc
        .tuple(contentType, fc.constantFrom(MAX_UPLOAD + 1, MAX_STOW + 1))
        .map(([ct, n]) => ({ kind: 'oversize', contentType: ct, payload: Buffer.alloc(n, 0x41) })),
    },
  );
}

function requestArbitrary(op: Operation, images: Buffer[]): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const query = fc
    .tuple(
      fc.array(fc.tuple(queryParams.length > 0 ? fc.constantFrom(...queryParams.map((p) => p.name)) : badString.map(enc), queryValue), { maxLength: 4 }),
      fc.option(fc.tuple(badString.map(enc), queryValue), { nil: undefined }),
      fc.option(fc.constantFrom('&&=&', '=', '%', '%ff=%ff', 'a[b]=1&a[c]=2', '__proto__[x]=1'), { nil: undefined }),
    )
    .map(([pairs, extra, junk]) => {
      const parts = pairs.map(([k, v]) => `${k}=${v}`);
      if (extra) parts.push(`${extra[0]}=${extra[1]}`);
      if (junk) parts.push(junk);
      return parts.join('&');
    });
  return fc.record({
    auth: fc.constantFrom<FuzzRequest['auth']>('none', 'garbage', 'basic', 'wrong-role', 'right-role', 'right-role', 'right-role'),
    path: fc.array(segment, { minLength: pathParams.length, maxLength: pathParams.length }),
    query,
    accept: fc.option(fc.constantFrom(...ACCEPTS), { nil: undefined }),
    body: op.method === 'GET' ? fc.constant({ kind: 'none', contentType: undefined, payload: undefined }) : bodyArbitrary(op, images),
  });
}

// ---- Checks ----

/** A stack frame or a server file path: never in a body. */
const LEAK = /\n\s+at \S|\bat [\w$.<>]+ \(|\(?(?:file:\/\/)?\/(?:work|home|usr|tmp|app|src)\/[\w./-]+\.(?:ts|js|mjs)\b|node_modules\/|\.ts:\d+:\d+/;
const CODE = /^[a-z][a-z0-9_]*$/;

/** KServe v2's readiness routes answer "not ready" as 400 with `{ ready: false }`: the protocol's answer, not an error body. */
const READY_ROUTE = /^\/v2\/(health\/ready|models\/[^?]*\/ready)$/;

export function problem(res: LightMyRequestResponse, path: string): string | null {
  if (res.statusCode >= 500) return `status ${res.statusCode}: ${res.body.slice(0, 300)}`;
  if (res.headers['x-content-type-options'] !== 'nosniff') return `no security headers on a ${res.statusCode} answer`;
  const type = String(res.headers['content-type'] ?? '');
  const textual = type === '' || /json|text|html|xml/.test(type);
  if (textual && LEAK.test(res.body)) return `stack trace or file path in the body: ${res.body.slice(0, 300)}`;
  if (res.statusCode >= 400) {
    if (!/json/.test(type)) return `error ${res.statusCode} with content-type '${type}'`;
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      return `error ${res.statusCode} whose body is not JSON: ${res.body.slice(0, 200)}`;
    }
    if (res.statusCode === 400 && READY_ROUTE.test(path) && (body as { ready?: unknown } | null)?.ready === false) return null;
    const code = (body as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !CODE.test(code)) return `error ${res.statusCode} without a stable code: ${res.body.slice(0, 200)}`;
  }
  return null;
}

// ---- The run ----

export interface FuzzTarget {
  f: ApiFixture;
  ops: Operation[];
  studyId: string;
  images: Buffer[];
  /** The server's error log lines since the last request (a 5xx's error and stack). */
  serverErrors: string[];
}

/** The real app (openApiFixture) with small body limits, its operations, and one real study. */
export async function openFuzzTarget(o: ApiFixtureOptions = {}): Promise<FuzzTarget> {
  const serverErrors: string[] = [];
  // 5xx are logged with their error and stack: kept here so a failure shows the cause.
  const logger = pino(
    { level: 'error' },
    {
      write: (line: string) => {
        serverErrors.push(line.slice(0, 2000));
      },
    },
  );
  // Every optional route the fixture leaves out that a server has: the PACS export list and retry.
  const store: { exports?: PacsExportStore } = {};
  const pacs = {
    list: (q?: Parameters<PacsExportStore['list']>[0]) => store.exports!.list(q),
    retry: (id: string) => store.exports!.retry(id, new Date().toISOString()),
  };
  const f = await openApiFixture({
    ...o,
    limits: { maxUploadBytes: MAX_UPLOAD, maxStowBytes: MAX_STOW, maxBatchFiles: 4 },
    deps: { pacs, ...o.deps, logger },
  });
  store.exports = new PacsExportStore(f.tracking.t.db);
  const doc = (await f.app.inject({ method: 'GET', url: '/docs/json' })).json<Parameters<typeof operations>[0]>();
  const png = await grayPng(16, 16, (x, y) => (x * 7 + y * 3) % 256);
  const images = [png, pngHeaderClaiming(100_000, 100_000), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), Buffer.from('GIF89a')];
  // One real study, so a fuzzed id sometimes names something that exists and the route goes deeper.
  const posted = await postStudy(f.app, f.auth('admin'), { modality: 'cxr' }, png);
  return { f, ops: operations(doc), studyId: posted.json<{ id: string }>().id, images, serverErrors };
}

function headersFor(f: ApiFixture, op: Operation, r: FuzzRequest): Record<string, string> {
  const h: Record<string, string> = {};
  const roles = op.auth === 'public' || op.auth === 'any' ? Object.keys(ROLE_BY_NAME) : op.auth;
  const allowed = roles.map((n) => ROLE_BY_NAME[n]).filter((x): x is Role => x !== undefined);
  const refused = (Object.keys(f.tokens) as Role[]).filter((x) => !allowed.includes(x));
  if (r.auth === 'right-role' || (r.auth === 'wrong-role' && refused.length === 0))
    Object.assign(h, f.auth(allowed[r.path.length % allowed.length] ?? 'admin'));
  else if (r.auth === 'wrong-role') Object.assign(h, f.auth(refused[0]!));
  else if (r.auth === 'garbage') h.authorization = `Bearer sr_${'A'.repeat(43)}`;
  else if (r.auth === 'basic') h.authorization = 'Basic YWRtaW46YWRtaW4=';
  if (r.accept !== undefined) h.accept = r.accept;
  if (r.body.contentType !== undefined) h['content-type'] = r.body.contentType;
  return h;
}

function urlFor(studyId: string, op: Operation, r: FuzzRequest): string {
  let i = 0;
  const path = op.path.replace(/\{[^}]+\}/g, () => {
    const s = r.path[i++] ?? 'x';
    return s === '{{study}}' ? studyId : s;
  });
  return r.query ? `${path}?${r.query}` : path;
}

/** What failed and on which (shrunk) request, long strings cut, so the report stays readable; the seed and path replay it. */
function report<T>(details: fc.RunDetails<T>): string {
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const example = JSON.stringify(details.counterexample, (_k, v: unknown) =>
    typeof v === 'string' && v.length > 120 ? `${v.slice(0, 120)}…(${v.length})` : v,
  );
  return `${error}\n  request: ${example}\n  replay: { seed: ${details.seed}, path: '${details.counterexamplePath}' }`;
}

function seedFor(seed: number, op: Operation): number {
  let h = seed | 0;
  for (const c of `${op.method} ${op.path}`) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

export interface FuzzResult {
  /** One entry per failing operation: the problem, the shrunk request, the seed to replay it. */
  failures: string[];
  /** Operations that need a token and never got past authentication (every answer 401). */
  stuck: string[];
  requests: number;
}

/** `runs` generated requests per operation, seeded per operation from `seed` (adding a route changes no other's requests). */
export async function fuzzEveryOperation(t: FuzzTarget, o: { seed: number; runs: number }): Promise<FuzzResult> {
  const out: FuzzResult = { failures: [], stuck: [], requests: 0 };
  for (const op of t.ops) {
    const name = `${op.method} ${op.path}`;
    const seen = new Set<number>();
    const seed = seedFor(o.seed, op);
    const details = await fc.check(
      fc.asyncProperty(requestArbitrary(op, t.images), async (r) => {
        t.serverErrors.length = 0;
        out.requests++;
        const res = await t.f.app.inject({
          method: op.method as 'GET',
          url: urlFor(t.studyId, op, r),
          headers: headersFor(t.f, op, r),
          ...(r.body.payload !== undefined ? { payload: r.body.payload } : {}),
        });
        seen.add(res.statusCode);
        const p = problem(res, op.path);
        if (p) throw new Error(`${p}${t.serverErrors.length ? `\nserver log: ${t.serverErrors.join('\n')}` : ''}`);
      }),
      { seed, numRuns: o.runs },
    );
    if (details.failed) out.failures.push(`${name} (FUZZ_SEED=${o.seed}, operation seed ${seed}): ${report(details)}`);
    if (op.auth !== 'public' && [...seen].every((s) => s === 401)) out.stuck.push(name);
  }
  return out;
}

/** Unknown paths under every prefix, with every method: 404 as JSON with a code. */
export async function fuzzUnknownPaths(t: FuzzTarget, o: { seed: number; runs: number }): Promise<string | null> {
  const details = await fc.check(
    fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
      fc.array(segment, { minLength: 1, maxLength: 4 }),
      fc.constantFrom('', '/v1', '/v2', '/dicomweb', '/docs'),
      async (method, segments, prefix) => {
        const res = await t.f.app.inject({ method: method as 'GET', url: `${prefix}/${segments.join('/')}`, headers: t.f.auth('admin') });
        const p = problem(res, '');
        if (p) throw new Error(p);
      },
    ),
    { seed: o.seed, numRuns: o.runs },
  );
  return details.failed ? `FUZZ_SEED=${o.seed}: ${report(details)}` : null;
}
