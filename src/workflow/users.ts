// API users, their passwords and their bearer tokens. A token is shown once, when it is created; only
// its sha256 is stored, so a copy of the database does not hand out working credentials. Two kinds
// of token: `api` (made by the CLI, lives until revoked) and `session` (made by a login with name and
// password, expires). Passwords are stored as scrypt hashes with a per-user salt. Roles decide what a
// user may call (the API maps routes to roles; this module only knows who is who).
// Why one ~450-line file: users, passwords and both token kinds share the same table rows and
// constant-time checks; splitting them would expose those internals between modules.
import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';

import { type Clock, systemClock } from '../core/clock.js';
import { ConflictError, NotFoundError, StorageError, ValidationError } from '../core/errors.js';
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
  /** Whether the user can log in with a password (the hash itself never leaves this module). */
  hasPassword: boolean;
}

export const TOKEN_KINDS = ['api', 'session'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** A user as seen through the token that authenticated them. */
export interface AuthenticatedUser extends User {
  tokenId: string;
  tokenKind: TokenKind;
  /** When the token stops working (sessions); null for API tokens. */
  expiresAt: string | null;
}

export interface TokenInfo {
  id: string;
  userName: string;
  kind: TokenKind;
  label: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  expiresAt: string | null;
}

/** What a successful login hands out: a session token, shown this once. */
export interface LoginResult {
  token: string;
  tokenId: string;
  expiresAt: string;
  user: User;
}

export const USER_NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
const TOKEN_PREFIX = 'sr_';
/** `sr_` + 32 random bytes, base64url: what `authenticate` accepts before touching the database. */
const TOKEN_SHAPE = /^sr_[A-Za-z0-9_-]{43}$/;
const LABEL = /^[\x20-\x7e]{1,100}$/;

export function assertRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role))
    throw new ValidationError(`invalid role '${String(role).slice(0, 40)}': one of ${ROLES.join(', ')}`, { role });
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

// ---- Passwords ----

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;

/** scrypt cost: N (CPU/memory, a power of 2), r (block size), p (parallelism). Memory ≈ 128·N·r bytes. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * One of OWASP's equivalent scrypt settings (N=2^15, r=8, p=3): 32 MiB per hash instead of the
 * 128 MiB of N=2^17, so concurrent logins cannot exhaust memory, with the same work. About 0.15-0.3 s
 * of one core per login or password change.
 */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 3 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds for parameters read back from the database, so a tampered row cannot ask for gigabytes. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const STORED_HASH = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/**
 * Checks a new password and returns it NFC-normalized, so the same password typed on systems that
 * compose accents differently still matches. Length is counted in Unicode code points.
 */
export function assertPassword(password: string): string {
  if (typeof password !== 'string' || password.length === 0) throw new ValidationError('the password is empty');
  const normalized = password.normalize('NFC');
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH)
    throw new ValidationError(`the password is too short: at least ${PASSWORD_MIN_LENGTH} characters (got ${length})`, { minLength: PASSWORD_MIN_LENGTH });
  if (length > PASSWORD_MAX_LENGTH)
    throw new ValidationError(`the password is too long: at most ${PASSWORD_MAX_LENGTH} characters`, { maxLength: PASSWORD_MAX_LENGTH });
  return normalized;
}

function assertScryptParams(o: ScryptParams): ScryptParams {
  const ok =
    Number.isInteger(o.N) &&
    o.N >= 2 &&
    o.N <= MAX_N &&
    (o.N & (o.N - 1)) === 0 &&
    Number.isInteger(o.r) &&
    o.r >= 1 &&
    o.r <= MAX_R &&
    Number.isInteger(o.p) &&
    o.p >= 1 &&
    o.p <= MAX_P;
  if (!ok) throw new ValidationError(`invalid scrypt parameters N=${o.N} r=${o.r} p=${o.p}: N a power of 2 up to 2^20, r 1-${MAX_R}, p 1-${MAX_P}`);
  return o;
}

function deriveKey(password: string, salt: Buffer, o: ScryptParams): Promise<Buffer> {
  // Node refuses to run when 128·N·r exceeds maxmem (default 32 MiB, exactly DEFAULT_SCRYPT's need).
  const options: ScryptOptions = { N: o.N, r: o.r, p: o.p, maxmem: 2 * 128 * o.N * o.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64url: everything verification needs, in one column. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const o = assertScryptParams(params);
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, o);
  return `scrypt$${o.N}$${o.r}$${o.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether `password` matches a stored hash; compares in constant time. A malformed hash is a storage fault, not a wrong password. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = STORED_HASH.exec(stored);
  const params = m ? { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) } : null;
  const salt = m ? Buffer.from(m[4]!, 'base64url') : null;
  const expected = m ? Buffer.from(m[5]!, 'base64url') : null;
  if (!params || !salt || !expected || salt.length < SALT_BYTES || expected.length !== KEY_BYTES)
    throw new StorageError('a stored password hash is malformed (expected scrypt$N$r$p$salt$hash)');
  try {
    assertScryptParams(params);
  } catch {
    throw new StorageError(`a stored password hash has out-of-range scrypt parameters (N=${params.N} r=${params.r} p=${params.p})`);
  }
  const key = await deriveKey(password, salt, params);
  return timingSafeEqual(key, expected);
}

export interface UserStoreOptions {
  clock?: Clock;
  /**
   * How long a successful authentication is remembered in this process (default 0: never). With 0,
   * every request reads the token's row (one indexed lookup), so a token revoked, expired or whose
   * user was disabled — by any API process or the CLI — is refused by every process at once. A
   * positive TTL saves that read on a busy endpoint at the price of revocations elsewhere taking up
   * to the TTL to be seen (one revoked through this store stops at once either way).
   */
  cacheTtlMs?: number;
  /** last_used_at is written at most this often per token (default 60 s): it is a hint, not an audit log. */
  touchIntervalMs?: number;
  /** How long a session token from `login` works (default 12 h). */
  sessionTtlMs?: number;
  /** Cost of new password hashes (default DEFAULT_SCRYPT; tests use a cheap one). Existing hashes keep the cost they were made with. */
  scrypt?: ScryptParams;
}

export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Sessions that expired longer ago than this are deleted when their user logs in again (they would only clutter the token list). */
const ENDED_SESSIONS_KEPT_MS = 30 * 24 * 60 * 60 * 1000;

interface CacheEntry {
  user: AuthenticatedUser;
  until: number;
}

export class UserStore {
  private readonly clock: Clock;
  private readonly cacheTtlMs: number;
  private readonly touchIntervalMs: number;
  private readonly sessionTtlMs: number;
  private readonly scryptParams: ScryptParams;
  private readonly cache = new Map<string, CacheEntry>();
  private dummyHash?: Promise<string>;

  constructor(
    private readonly db: Db,
    o: UserStoreOptions = {},
  ) {
    this.clock = o.clock ?? systemClock;
    this.cacheTtlMs = o.cacheTtlMs ?? 0;
    this.touchIntervalMs = o.touchIntervalMs ?? 60_000;
    this.sessionTtlMs = o.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    if (!Number.isInteger(this.sessionTtlMs) || this.sessionTtlMs < 1000)
      throw new ValidationError(`invalid session TTL ${this.sessionTtlMs} ms: an integer of at least 1000`);
    this.scryptParams = assertScryptParams(o.scrypt ?? DEFAULT_SCRYPT);
  }

  /** Creates a user with a first API token; the token is returned here and never again. */
  async addUser(o: { name: string; role: string; label?: string }): Promise<{ user: User; token: string; tokenId: string }> {
    const label = assertTokenLabel(o.label ?? 'initial');
    const token = newToken();
    const tokenId = newId('tok_');
    const user = await this.insertUser(o.name, o.role, null, async (trx, u, now) => {
      await trx
        .insertInto('api_tokens')
        .values(tokenRow(tokenId, u.id, token, label, 'api', now, null))
        .execute();
    });
    return { user, token, tokenId };
  }

  /**
   * Creates a user who logs in with a password (the web UI) and has no API token: a person in a
   * browser needs no long-lived credential; `createToken` gives them one if a script needs it.
   */
  async addUserWithPassword(o: { name: string; role: string; password: string }): Promise<User> {
    const passwordHash = await hashPassword(assertPassword(o.password), this.scryptParams);
    return this.insertUser(o.name, o.role, passwordHash);
  }

  private async insertUser(
    rawName: string,
    rawRole: string,
    passwordHash: string | null,
    more?: (trx: Db, user: User, now: string) => Promise<void>,
  ): Promise<User> {
    const name = assertUserName(rawName);
    const role = assertRole(rawRole);
    const now = this.clock.now().toISOString();
    const user: User = { id: newId('usr_'), name, role, createdAt: now, disabledAt: null, hasPassword: passwordHash !== null };
    await this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
      if (existing) throw new ConflictError(`user '${name}' already exists`, { name });
      await trx.insertInto('users').values({ id: user.id, name, role, created_at: now, disabled_at: null, password_hash: passwordHash }).execute();
      await more?.(trx, user, now);
    });
    return user;
  }

  /** Another API token for an existing user (e.g. one per client); returned once. */
  async createToken(userName: string, label: string): Promise<{ token: string; tokenId: string }> {
    const user = await this.getUser(userName);
    const token = newToken();
    const tokenId = newId('tok_');
    await this.db
      .insertInto('api_tokens')
      .values(tokenRow(tokenId, user.id, token, assertTokenLabel(label), 'api', this.clock.now().toISOString(), null))
      .execute();
    return { token, tokenId };
  }

  /**
   * Sets (or replaces) a user's password. Their open sessions end: whoever logged in with the old
   * password is logged out. API tokens are not touched (revoke those one by one).
   */
  async setPassword(name: string, password: string): Promise<void> {
    const user = await this.getUser(name);
    const passwordHash = await hashPassword(assertPassword(password), this.scryptParams);
    const now = this.clock.now().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', user.id).execute();
      await trx
        .updateTable('api_tokens')
        .set({ revoked_at: now })
        .where('user_id', '=', user.id)
        .where('kind', '=', 'session')
        .where('revoked_at', 'is', null)
        .execute();
    });
    this.forgetUser(user.id);
  }

  /**
   * A session token for name + password, or null. Null for a wrong password, an unknown or disabled
   * user, or one without a password — the caller cannot tell which, and neither can a stopwatch:
   * every call derives exactly one scrypt key (against a dummy hash when there is no real one).
   */
  async login(name: string, password: string, o: { ttlMs?: number; label?: string } = {}): Promise<LoginResult | null> {
    const dummy = await (this.dummyHash ??= hashPassword(randomBytes(SALT_BYTES).toString('base64url'), this.scryptParams));
    const candidate = typeof password === 'string' ? password : '';
    const row =
      typeof name === 'string' && USER_NAME.test(name) ? await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst() : undefined;
    const matches = await verifyPassword(candidate, row?.password_hash ?? dummy);
    if (!row || row.password_hash === null || row.disabled_at !== null || !matches) return null;

    const nowMs = this.clock.now().getTime();
    const now = new Date(nowMs).toISOString();
    const ttlMs = o.ttlMs ?? this.sessionTtlMs;
    const expiresAt = new Date(nowMs + ttlMs).toISOString();
    const token = newToken();
    const tokenId = newId('tok_');
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('api_tokens')
        .values(tokenRow(tokenId, row.id, token, assertTokenLabel(o.label ?? 'login'), 'session', now, expiresAt))
        .execute();
      await trx
        .deleteFrom('api_tokens')
        .where('user_id', '=', row.id)
        .where('kind', '=', 'session')
        .where('expires_at', '<', new Date(nowMs - ENDED_SESSIONS_KEPT_MS).toISOString())
        .execute();
    });
    return { token, tokenId, expiresAt, user: toUser(row) };
  }

  /**
   * Ends a session (logout). Idempotent: a session that already ended stays ended. API tokens are
   * refused: they are revoked deliberately, with `revokeToken`.
   */
  async endSession(tokenId: string): Promise<void> {
    const row = await this.db.selectFrom('api_tokens').select(['id', 'kind', 'token_sha256']).where('id', '=', String(tokenId)).executeTakeFirst();
    if (!row) throw new NotFoundError('token', String(tokenId).slice(0, 80));
    if (row.kind !== 'session')
      throw new ValidationError('this is an API token, not a login session: revoke it with `secondread users revoke <token-id>`', { tokenId: row.id });
    await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: this.clock.now().toISOString() })
      .where('id', '=', row.id)
      .where('revoked_at', 'is', null)
      .execute();
    this.cache.delete(row.token_sha256);
  }

  /** The user a token belongs to, or null (unknown, malformed, revoked, expired, or the user is disabled). */
  async authenticate(token: string): Promise<AuthenticatedUser | null> {
    if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return null;
    const hash = sha256Hex(token);
    const nowMs = this.clock.now().getTime();
    const hit = this.cache.get(hash);
    if (hit && hit.until > nowMs) return hit.user;
    this.cache.delete(hash);
    const now = new Date(nowMs).toISOString();
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select([
        'api_tokens.id as token_id',
        'api_tokens.kind',
        'api_tokens.expires_at',
        'api_tokens.last_used_at',
        'users.id',
        'users.name',
        'users.role',
        'users.created_at',
        'users.disabled_at',
        'users.password_hash',
      ])
      .where('api_tokens.token_sha256', '=', hash)
      .where('api_tokens.revoked_at', 'is', null)
      // ISO-8601 UTC strings of one format compare like the instants they name.
      .where((eb) => eb.or([eb('api_tokens.expires_at', 'is', null), eb('api_tokens.expires_at', '>', now)]))
      .where('users.disabled_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const user: AuthenticatedUser = { ...toUser(row), tokenId: row.token_id, tokenKind: row.kind as TokenKind, expiresAt: row.expires_at };
    if (row.last_used_at === null || nowMs - Date.parse(row.last_used_at) >= this.touchIntervalMs) {
      await this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.token_id).execute();
    }
    // A cached session must not outlive its expiry.
    const until = Math.min(nowMs + this.cacheTtlMs, row.expires_at === null ? Infinity : Date.parse(row.expires_at));
    if (this.cacheTtlMs > 0) this.cache.set(hash, { user, until });
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

  /** Disables a user: all their tokens stop working (at once everywhere, unless a process caches authentications). */
  async disableUser(name: string): Promise<void> {
    const user = await this.getUser(name);
    if (user.disabledAt !== null) throw new ConflictError(`user '${name}' is already disabled`, { name });
    await this.db.updateTable('users').set({ disabled_at: this.clock.now().toISOString() }).where('id', '=', user.id).execute();
    this.forgetUser(user.id);
  }

  /** Drops a user's cached authentications, so the next request reads the database. */
  private forgetUser(userId: string): void {
    for (const [hash, e] of this.cache) if (e.user.id === userId) this.cache.delete(hash);
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
      .select([
        'api_tokens.id',
        'users.name',
        'api_tokens.kind',
        'api_tokens.label',
        'api_tokens.created_at',
        'api_tokens.last_used_at',
        'api_tokens.revoked_at',
        'api_tokens.expires_at',
      ]);
    if (userName !== undefined) q = q.where('users.name', '=', assertUserName(userName));
    const rows = await q.orderBy('users.name').orderBy('api_tokens.created_at').execute();
    return rows.map((r) => ({
      id: r.id,
      userName: r.name,
      kind: r.kind as TokenKind,
      label: r.label,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
      expiresAt: r.expires_at,
    }));
  }
}

function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

function tokenRow(id: string, userId: string, token: string, label: string, kind: TokenKind, at: string, expiresAt: string | null) {
  return { id, user_id: userId, token_sha256: sha256Hex(token), label, kind, created_at: at, last_used_at: null, revoked_at: null, expires_at: expiresAt };
}

function toUser(r: Pick<UsersTable, 'id' | 'name' | 'role' | 'created_at' | 'disabled_at' | 'password_hash'>): User {
  return { id: r.id, name: r.name, role: r.role as Role, createdAt: r.created_at, disabledAt: r.disabled_at, hasPassword: r.password_hash !== null };
}
