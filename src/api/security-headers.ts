// Security headers on every answer, and CORS (off unless origins are configured). The API answers JSON,
// images and DICOM to authenticated clients: nothing of it may be sniffed into HTML, framed, or read by
// another origin's script unless the site names that origin. The web UI's routes set their own, wider CSP
// (routes/web.ts), which this hook leaves in place. HSTS only on requests that arrived over TLS (directly, or
// through a proxy Fastify trusts): announcing it on plain HTTP would be meaningless.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** No scripts, no frames, no plugins: an API answer is data, never a document. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const HSTS = 'max-age=31536000; includeSubDomains';

export interface SecurityHeaderOptions {
  /** Origins allowed to call the API from a browser (exact `scheme://host[:port]`); empty or absent: CORS off. */
  corsOrigins?: readonly string[];
}

export function installSecurityHeaders(app: FastifyInstance, o: SecurityHeaderOptions = {}): void {
  const allowed = new Set(o.corsOrigins ?? []);
  app.addHook('onSend', async (request, reply) => {
    securityHeaders(request, reply, allowed.size > 0);
    if (allowed.size) corsHeaders(request, reply, allowed);
  });
  if (allowed.size)
    // Preflight for the configured origins; any other origin gets no CORS headers, so the browser refuses.
    app.options('*', { config: { auth: 'public' }, schema: { hide: true } }, async (request, reply) => {
      corsHeaders(request, reply, allowed);
      void reply.header('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE');
      void reply.header('access-control-allow-headers', 'authorization, content-type, accept, x-request-id');
      void reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    });
}

/**
 * The headers every answer carries. Exported for the router's own errors (a bad %-escape, an over-long
 * path parameter: app.ts's frameworkErrors), which Fastify answers without running any hook.
 */
export function securityHeaders(request: FastifyRequest, reply: FastifyReply, crossOrigin = false): void {
  void reply.header('x-content-type-options', 'nosniff');
  void reply.header('referrer-policy', 'no-referrer');
  void reply.header('x-frame-options', 'DENY');
  void reply.header('cross-origin-resource-policy', crossOrigin ? 'cross-origin' : 'same-origin');
  if (!reply.hasHeader('content-security-policy')) void reply.header('content-security-policy', API_CSP);
  if (request.protocol === 'https') void reply.header('strict-transport-security', HSTS);
}

function corsHeaders(request: FastifyRequest, reply: FastifyReply, allowed: ReadonlySet<string>): void {
  void reply.header('vary', 'origin');
  const origin = request.headers.origin;
  if (typeof origin === 'string' && allowed.has(origin)) {
    void reply.header('access-control-allow-origin', origin);
    void reply.header('access-control-expose-headers', 'x-request-id, retry-after');
  }
}
