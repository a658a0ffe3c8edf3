// Bearer-token authentication and role checks for every route. Secure by default: a route is
// open only when its config says `auth: 'public'`; roles are named on the route (`auth: ['admin']`).
// The OpenAPI document gets the matching `security` requirement from the same rule.
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';

import { ForbiddenError, UnauthenticatedError } from './errors.js';
import type { AuthRule, UsersPort } from './types.js';

export const BEARER_SCHEME = 'bearer';

/** Routes registered by plugins we do not write (the docs UI and its assets) are public. */
const PUBLIC_PREFIXES = ['/docs'];

/** Must run on the root instance before any route is registered (onRoute sees only later routes). */
export function installAuth(app: FastifyInstance, users: UsersPort): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const url = route.url ?? '';
    if (route.config?.auth === undefined && PUBLIC_PREFIXES.some((p) => url === p || url.startsWith(`${p}/`))) {
      route.config = { ...route.config, auth: 'public' };
    }
    const rule: AuthRule = route.config?.auth ?? 'any';
    if (rule !== 'public' && route.schema && !route.schema.hide) {
      (route.schema as Record<string, unknown>).security = [{ [BEARER_SCHEME]: [] }];
      const roles = rule === 'any' ? 'any role' : `role ${rule.join(' or ')}`;
      const base = (route.schema as { description?: string }).description;
      (route.schema as Record<string, unknown>).description = `${base ? `${base}\n\n` : ''}Requires a token (${roles}).`;
    }
  });

  app.addHook('onRequest', async (request) => {
    if (request.is404) return; // unknown URL: a 404, whoever asks
    const rule: AuthRule = request.routeOptions.config?.auth ?? 'any';
    if (rule === 'public') return;
    const token = bearerToken(request);
    if (token === null) throw new UnauthenticatedError();
    const user = await users.authenticate(token);
    if (!user) throw new UnauthenticatedError('the API token is unknown, revoked, or its user is disabled');
    request.user = user;
    if (rule !== 'any' && !rule.includes(user.role)) throw new ForbiddenError(user.role, rule);
  });
}

function bearerToken(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}
