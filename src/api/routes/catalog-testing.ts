// Test fixture of the catalog routes (datasets, runs, model catalog, saliency): one plugin on its own
// app (pluginApp: set up as buildApp sets up its routes) with real users, tracking and registry on a
// SQLite test database. No vitest import.
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginOptions } from 'fastify';

import { ModelRegistry } from '../../tracking/index.js';
import { openTrackingFixture, type TrackingFixture } from '../../tracking/testing.js';
import type { WorkflowUser } from '../../workflow/service.js';
import { type Role, UserStore } from '../../workflow/users.js';
import { pluginApp } from '../testing/fixture.js';

export interface CatalogFixture {
  tracking: TrackingFixture;
  registry: ModelRegistry;
  users: UserStore;
  /** One user per role, and their tokens. */
  people: Record<Role, WorkflowUser>;
  tokens: Record<Role, string>;
  /** `Authorization` header for a role (or for a raw token). */
  auth(role: Role | { token: string }): { authorization: string };
  /** An app serving only `plugin` (closed with the fixture). */
  serve<O extends FastifyPluginOptions>(plugin: FastifyPluginAsync<O>, opts: O): Promise<FastifyInstance>;
  close(): Promise<void>;
}

const NAMES: Record<Role, string> = { reader: 'rita', adjudicator: 'adam', 'ml-engineer': 'emil', admin: 'ada' };

export async function openCatalogFixture(): Promise<CatalogFixture> {
  const tracking = await openTrackingFixture('sqlite');
  const users = new UserStore(tracking.t.db);
  const people = {} as Record<Role, WorkflowUser>;
  const tokens = {} as Record<Role, string>;
  for (const [role, name] of Object.entries(NAMES) as [Role, string][]) {
    const { user, token } = await users.addUser({ name, role });
    people[role] = { id: user.id, name: user.name, role: user.role };
    tokens[role] = token;
  }
  const apps: FastifyInstance[] = [];
  return {
    tracking,
    registry: new ModelRegistry(tracking.t.db, tracking.objects, tracking.tracker),
    users,
    people,
    tokens,
    auth: (who) => ({ authorization: `Bearer ${typeof who === 'string' ? tokens[who] : who.token}` }),
    serve: async (plugin, opts) => {
      const app = await pluginApp(users, plugin, opts);
      apps.push(app);
      return app;
    },
    close: async () => {
      for (const app of apps) await app.close();
      await tracking.close();
    },
  };
}

/** Every role outside `allowed`: each must get 403 from a route limited to `allowed`. */
export function rolesExcept(allowed: readonly Role[]): Role[] {
  return (Object.keys(NAMES) as Role[]).filter((r) => !allowed.includes(r));
}

/**
 * GETs every URL as each role outside `allowed` (expects 403 `forbidden`), with no token and with an
 * unknown one (401), and as each allowed role (200). Returns what differed, e.g. `reader GET /x: 200`.
 */
export async function accessMismatches(
  app: FastifyInstance,
  f: Pick<CatalogFixture, 'auth'>,
  urls: readonly string[],
  allowed: readonly Role[],
): Promise<string[]> {
  const out: string[] = [];
  const check = async (who: string, url: string, headers: Record<string, string>, want: number) => {
    const res = await app.inject({ method: 'GET', url, headers });
    const got = res.statusCode === 403 ? `403 ${(res.json() as { code?: string }).code}` : String(res.statusCode);
    if (got !== (want === 403 ? '403 forbidden' : String(want))) out.push(`${who} GET ${url}: ${got}`);
  };
  for (const url of urls) {
    for (const role of rolesExcept(allowed)) await check(role, url, f.auth(role), 403);
    for (const role of allowed) await check(role, url, f.auth(role), 200);
    await check('no token', url, {}, 401);
    await check('unknown token', url, f.auth({ token: 'sr_not-a-token' }), 401);
  }
  return out;
}
