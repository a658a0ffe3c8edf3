// API users and their bearer tokens. A token is shown once, when it is created; only its sha256 is
// stored, so a copy of the database does not hand out working credentials. Roles decide what a user
// may call (the API maps routes to roles; this module only knows who is who).
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId, sha256Hex } from '../core/ids.js';
import type { Db } from '../storage/db.js';
import type { UsersTable } from '../storage/schema.js';

export const ROLES = ['reader', 'adjudicator', 'ml-engineer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  disabledAt: string | null;
}

/** A user as seen through the token that authenticated them. */
export interface AuthenticatedUser extends User {
  tokenId: string;
}

export interface TokenInfo {
  id: string;
  userName: string;
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export const USER_NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
const TOKEN_PREFIX = 'sr_';
/** `sr_` + 32 random bytes, base64url: what `authenticate` accepts before touching the database. */
const TOKEN_SHAPE = /^sr_[A-Za-z0-9_-]{43}$/;
const LABEL = /^[\x20-\x7e]{1,100}$/;

export function assertRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) throw new ValidationError(`invalid role '${String(role).slice(0, 40)}': one of ${ROLES.join(', ')}`, { role });
  return role as Role;
}

export function assertUserName(name: string): string {
  if (typeof name !== 'string' || !USER_NAME.test(name)) {
    throw new ValidationError(`invalid user name '${String(name).slice(0, 80)}': lower-case letters, digits, '.', '_', '@', '-'; 1-64 characters`, { name });
  }
  return name;
}

function assertTokenLabel(label: string): string {
  if (typeof label !== 'string' || !LABEL.test(label)) throw new ValidationError('invalid token label: 1-100 printable ASCII characters', { label });
  return label;
}

export interface UserStoreOptions {
  clock?: Clock;
  /**
   * How long a successful authentication is remembered in this process (default 5 s), so a busy
   * predict endpoint does not read the database on every request. A token revoked by another
   * process stops working within this time; one revoked through this store stops at once.
   */
  cacheTtlMs?: number;
  /** last_used_at is written at most this often per token (default 60 s): it is a hint, not an audit log. */
  touchIntervalMs?: number;
}

interface CacheEntry {
  user: AuthenticatedUser;
  until: number;
}

export class UserStore {
  private readonly clock: Clock;
  private readonly cacheTtlMs: number;
  private readonly touchIntervalMs: number;
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly db: Db,
    o: UserStoreOptions = {},
  ) {
    this.clock = o.clock ?? systemClock;
    this.cacheTtlMs = o.cacheTtlMs ?? 5000;
    this.touchIntervalMs = o.touchIntervalMs ?? 60_000;
  }

  /** Creates a user with a first token; the token is returned here and never again. */
  async addUser(o: { name: string; role: string; label?: string }): Promise<{ user: User; token: string; tokenId: string }> {
    const name = assertUserName(o.name);
    const role = assertRole(o.role);
    const label = assertTokenLabel(o.label ?? 'initial');
    const now = this.clock.now().toISOString();
    const user: User = { id: newId('usr_'), name, role, createdAt: now, disabledAt: null };
    const token = newToken();
    const tokenId = newId('tok_');
    await this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
      if (existing) throw new ConflictError(`user '${name}' already exists`, { name });
      await trx.insertInto('users').values({ id: user.id, name, role, created_at: now, disabled_at: null }).execute();
      await trx.insertInto('api_tokens').values(tokenRow(tokenId, user.id, token, label, now)).execute();
    });
    return { user, token, tokenId };
  }

  /** Another token for an existing user (e.g. one per client); returned once. */
  async createToken(userName: string, label: string): Promise<{ token: string; tokenId: string }> {
    const user = await this.getUser(userName);
    const token = newToken();
    const tokenId = newId('tok_');
    await this.db.insertInto('api_tokens').values(tokenRow(tokenId, user.id, token, assertTokenLabel(label), this.clock.now().toISOString())).execute();
    return { token, tokenId };
  }

  /** The user a token belongs to, or null (unknown, malformed, revoked, or the user is disabled). */
  async authenticate(token: string): Promise<AuthenticatedUser | null> {
    if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return null;
    const hash = sha256Hex(token);
    const nowMs = this.clock.now().getTime();
    const hit = this.cache.get(hash);
    if (hit && hit.until > nowMs) return hit.user;
    this.cache.delete(hash);
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select(['api_tokens.id as token_id', 'api_tokens.last_used_at', 'users.id', 'users.name', 'users.role', 'users.created_at', 'users.disabled_at'])
      .where('api_tokens.token_sha256', '=', hash)
      .where('api_tokens.revoked_at', 'is', null)
      .where('users.disabled_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const user: AuthenticatedUser = { ...toUser(row), tokenId: row.token_id };
    if (row.last_used_at === null || nowMs - Date.parse(row.last_used_at) >= this.touchIntervalMs) {
      await this.db.updateTable('api_tokens').set({ last_used_at: new Date(nowMs).toISOString() }).where('id', '=', row.token_id).execute();
    }
    if (this.cacheTtlMs > 0) this.cache.set(hash, { user, until: nowMs + this.cacheTtlMs });
    return user;
  }

  /** Revokes one token by its id (the token itself is not needed, nor known after creation). */
  async revokeToken(tokenId: string): Promise<void> {
    const row = await this.db.selectFrom('api_tokens').select(['id', 'token_sha256', 'revoked_at']).where('id', '=', String(tokenId)).executeTakeFirst();
    if (!row) throw new NotFoundError('token', String(tokenId).slice(0, 80));
    if (row.revoked_at !== null) throw new ConflictError(`token '${row.id}' is already revoked`, { tokenId: row.id });
    await this.db.updateTable('api_tokens').set({ revoked_at: this.clock.now().toISOString() }).where('id', '=', row.id).execute();
    this.cache.delete(row.token_sha256);
  }

  /** Disables a user: all their tokens stop working (here at once, elsewhere within the cache TTL). */
  async disableUser(name: string): Promise<void> {
    const user = await this.getUser(name);
    if (user.disabledAt !== null) throw new ConflictError(`user '${name}' is already disabled`, { name });
    await this.db.updateTable('users').set({ disabled_at: this.clock.now().toISOString() }).where('id', '=', user.id).execute();
    for (const [hash, e] of this.cache) if (e.user.id === user.id) this.cache.delete(hash);
  }

  async getUser(name: string): Promise<User> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', assertUserName(name)).executeTakeFirst();
    if (!row) throw new NotFoundError('user', name);
    return toUser(row);
  }

  async listUsers(): Promise<User[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('name').execute()).map(toUser);
  }

  async listTokens(userName?: string): Promise<TokenInfo[]> {
    let q = this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select(['api_tokens.id', 'users.name', 'api_tokens.label', 'api_tokens.created_at', 'api_tokens.last_used_at', 'api_tokens.revoked_at']);
    if (userName !== undefined) q = q.where('users.name', '=', assertUserName(userName));
    const rows = await q.orderBy('users.name').orderBy('api_tokens.created_at').execute();
    return rows.map((r) => ({ id: r.id, userName: r.name, label: r.label, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at }));
  }
}

function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

function tokenRow(id: string, userId: string, token: string, label: string, at: string) {
  return { id, user_id: userId, token_sha256: sha256Hex(token), label, created_at: at, last_used_at: null, revoked_at: null };
}

function toUser(r: Pick<UsersTable, 'id' | 'name' | 'role' | 'created_at' | 'disabled_at'>): User {
  return { id: r.id, name: r.name, role: r.role as Role, createdAt: r.created_at, disabledAt: r.disabled_at };
}
