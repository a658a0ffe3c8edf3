// The web UI (web/, built by Vite into dist/web) served by the API process, at `/`. Public: the page
// and its scripts hold no data; every API call the page makes carries the session token.
//
// Safe static serving: the build folder is read ONCE at startup into a whitelist (URL path → bytes,
// type, cache policy). A request only looks its path up in that map — no filesystem path is ever
// built from request input, so `..`, encoded slashes or symlinks cannot reach another file.
//   /assets/<name>-<hash>.<ext>  Vite's hashed output: cached for a year, immutable
//   index.html and other files    no-cache (revalidated with the ETag, so a new build shows at once)
//   any other GET                 the SPA's own routes (/worklist, /studies/…) → index.html, except
//                                 API prefixes and /assets/, which answer the app's JSON 404
// Every answer carries a Content-Security-Policy that allows only this origin's scripts and styles.
// Without a build (fresh clone, `npm ci --omit=dev`) `/` says how to build it (503).
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface WebRoutesOptions {
  /** The Vite build folder (default: <repo>/dist/web, the same from src/ and from a tsc build in dist/). */
  dir?: string;
}

export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../dist/web', import.meta.url));

/** Paths that belong to the API: never answered with the SPA (a typo in an API URL must stay a JSON 404). */
export const API_PREFIXES = ['/v1', '/v2', '/metrics', '/docs', '/healthz', '/readyz'] as const;

/**
 * Only this origin's scripts, styles, fetches and fonts; images also from blob: (the viewer draws
 * fetched images through object URLs) and data:. No inline script or style, no plugins, no framing.
 * React sets style properties through the CSSOM, which style-src does not restrict.
 */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const HASHED_CACHE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
/** The build is a few hundred kB; anything far bigger in the folder is not ours to serve from memory. */
const MAX_SITE_BYTES = 64 * 1024 * 1024;
/** File and folder names Vite writes (hashes are base64url-ish); anything else is skipped, not served. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,200}$/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt']);

export interface WebFile {
  body: Buffer;
  /** gzip of body when that is smaller (text types). */
  gzip: Buffer | null;
  type: string;
  cacheControl: string;
  etag: string;
}

/** URL path (`/index.html`, `/assets/index-B1x.js`) → file, read from `dir` now. null: no build there. */
export async function loadSite(dir: string): Promise<Map<string, WebFile> | null> {
  const index = await lstat(join(dir, 'index.html')).catch(() => null);
  if (!index?.isFile()) return null;
  const site = new Map<string, WebFile>();
  let total = 0;
  const walk = async (folder: string, urlPrefix: string): Promise<void> => {
    const entries: Dirent[] = await readdir(folder, { withFileTypes: true });
    for (const e of entries) {
      // Symlinks and odd names are skipped: the whitelist holds only plain files Vite wrote.
      if (!SAFE_NAME.test(e.name)) continue;
      if (e.isDirectory()) {
        await walk(join(folder, e.name), `${urlPrefix}${e.name}/`);
        continue;
      }
      const ext = extension(e.name);
      if (!e.isFile() || !(ext in TYPES)) continue;
      const body = await readFile(join(folder, e.name));
      total += body.length;
      if (total > MAX_SITE_BYTES) throw new Error(`the web build in ${dir} is over ${MAX_SITE_BYTES} bytes: not served from memory`);
      const url = `${urlPrefix}${e.name}`;
      const gz = COMPRESSIBLE.has(ext) ? gzipSync(body, { level: 9 }) : null;
      site.set(url, {
        body,
        gzip: gz && gz.length < body.length ? gz : null,
        type: TYPES[ext]!,
        cacheControl: url.startsWith('/assets/') ? HASHED_CACHE : REVALIDATE,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      });
    }
  };
  await walk(dir, '/');
  return site;
}

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot).toLowerCase();
}

function isApiPath(path: string): boolean {
  return API_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

function securityHeaders(reply: FastifyReply): void {
  void reply.header('content-security-policy', WEB_CSP);
  void reply.header('x-content-type-options', 'nosniff');
  void reply.header('referrer-policy', 'no-referrer');
  void reply.header('x-frame-options', 'DENY');
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: WebFile): FastifyReply {
  securityHeaders(reply);
  void reply.header('cache-control', file.cacheControl);
  void reply.header('etag', file.etag);
  void reply.header('vary', 'accept-encoding');
  void reply.type(file.type);
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (file.gzip && acceptsGzip) {
    void reply.header('content-encoding', 'gzip');
    return reply.send(file.gzip);
  }
  return reply.send(file.body);
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>secondread — web UI not built</title></head>
<body><main><h1>The secondread web UI is not built</h1>
<p>Build it from the repository root, then restart the server:</p>
<pre>npm ci
npm run build:web      # writes dist/web</pre>
<p><code>npm start</code> builds it by itself when dist/web is missing or older than web/.
The API itself is up: see <a href="/docs">/docs</a>.</p></main></body></html>
`;

export async function webRoutes(app: FastifyInstance, opts: WebRoutesOptions = {}): Promise<void> {
  const dir = opts.dir ?? DEFAULT_WEB_DIR;
  const site = await loadSite(dir);
  if (!site) app.log.warn({ dir }, 'web UI not built (npm run build:web): / explains how');
  const index = site?.get('/index.html');

  const answer = (request: FastifyRequest, reply: FastifyReply, path: string): FastifyReply => {
    const file = site?.get(path);
    if (file) return sendFile(request, reply, file);
    // A missing hashed asset is a 404, never the HTML page (a browser would try to run it as a script).
    if (isApiPath(path) || path.startsWith('/assets/')) {
      reply.callNotFound();
      return reply;
    }
    if (index) return sendFile(request, reply, index);
    securityHeaders(reply);
    return reply.code(503).header('cache-control', REVALIDATE).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
  };

  // `hide`: the UI is not part of the API's OpenAPI document.
  const route = { config: { auth: 'public' as const }, schema: { hide: true } };
  app.get('/', route, (request, reply) => answer(request, reply, '/index.html'));
  app.get('/*', route, (request, reply) => answer(request, reply, request.url.split('?')[0]!));
}
