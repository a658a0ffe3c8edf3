// POST /v1/auth/login, POST /v1/auth/logout, GET /v1/auth/me: how the web UI gets and drops a
// session token. Login is the one public route that takes a secret, so it is rate-limited: per
// client IP and per user name, `failures` failed logins per `windowMs` (default 5 per 15 min), then
// 429 `rate_limited` with Retry-After. The limiter is in memory, per API process, unless the app is
// given a shared one (Redis, when configured: rate-limit-redis.ts).
import type { FastifyInstance } from 'fastify';

import type { UserStore } from '../../workflow/users.js';
import { InvalidCredentialsError, RateLimitedError } from '../auth-errors.js';
import { type LoginLimiter, type LoginLimiterOptions, MemoryLoginLimiter } from '../rate-limit.js';
import { errorResponses } from '../schemas.js';
import { typed } from '../type-provider.js';

export type AuthUsersPort = Pick<UserStore, 'login' | 'endSession'>;

export type LoginRateLimitOptions = LoginLimiterOptions;
export { DEFAULT_LOGIN_FAILURES, DEFAULT_LOGIN_WINDOW_MS } from '../rate-limit.js';

export interface AuthRoutesOptions {
  users: AuthUsersPort;
  /** Limits of the in-process limiter made when no `limiter` is given. */
  rateLimit?: LoginRateLimitOptions;
  /** A limiter (shared through Redis when configured); its owner closes it. */
  limiter?: LoginLimiter;
}

const userSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'role'],
  properties: { name: { type: 'string' }, role: { type: 'string' } },
} as const;

export async function authRoutes(fastify: FastifyInstance, opts: AuthRoutesOptions): Promise<void> {
  const app = typed(fastify);
  const { users } = opts;
  const limiter = opts.limiter ?? new MemoryLoginLimiter(opts.rateLimit);
  const tags = ['auth'];

  app.post(
    '/v1/auth/login',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Log in with a user name and password: a session token (expires; 12 h by default)',
        description: `Wrong name or password: 401 \`invalid_credentials\` (the same for unknown users). After ${limiter.limit} failures within ${Math.round(limiter.windowMs / 60_000)} min from one client IP or for one user name: 429 \`rate_limited\` with Retry-After (${limiter.shared ? 'counted across all API processes' : 'counted per API process'}).`,
        body: {
          type: 'object',
          required: ['name', 'password'],
          additionalProperties: false,
          properties: { name: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['token', 'expiresAt', 'user'],
            properties: {
              token: { type: 'string', description: 'send as Authorization: Bearer <token>; shown once' },
              expiresAt: { type: 'string', description: 'ISO-8601 UTC' },
              user: userSchema,
            },
          },
          ...errorResponses([400, 401, 429, 500]),
        },
      },
    },
    async (request, reply) => {
      const { name, password } = request.body;
      // Counted as a failure before the password is checked, so parallel guesses cannot overrun the
      // limit while scrypt runs; taken back below when the attempt was not a wrong guess.
      const begun = await limiter.begin(request.ip, name);
      if ('retryAfterSeconds' in begun) throw new RateLimitedError(begun.retryAfterSeconds);
      let session: Awaited<ReturnType<AuthUsersPort['login']>>;
      try {
        session = await users.login(name, password);
      } catch (err) {
        await begun.attempt.abandon();
        throw err;
      }
      if (!session) throw new InvalidCredentialsError();
      // A success clears the name's failures; the IP's earlier failures still count (one valid
      // account must not let a client reset its budget for guessing others).
      await begun.attempt.succeeded();
      void reply.header('cache-control', 'no-store');
      return { token: session.token, expiresAt: session.expiresAt, user: { name: session.user.name, role: session.user.role } };
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      config: { auth: 'any' },
      schema: {
        tags,
        summary: 'End the session whose token this request carries (API tokens are revoked with the CLI instead)',
        response: { 204: { type: 'null', description: 'the session token no longer works' }, ...errorResponses([400, 401, 500]) },
      },
    },
    async (request, reply) => {
      await users.endSession(request.user!.tokenId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/auth/me',
    {
      config: { auth: 'any' },
      schema: {
        tags,
        summary: 'Who the token belongs to, and when it expires (null: an API token)',
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'role', 'expiresAt'],
            properties: { ...userSchema.properties, expiresAt: { type: ['string', 'null'] } },
          },
          ...errorResponses([401, 500]),
        },
      },
    },
    async (request) => {
      const u = request.user!;
      return { name: u.name, role: u.role, expiresAt: u.expiresAt };
    },
  );
}
