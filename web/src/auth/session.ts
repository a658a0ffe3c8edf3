// The signed-in session: the token from POST /v1/auth/login, kept in sessionStorage (gone when the
// tab closes; never in localStorage, so it is not shared with every tab nor kept on disk).
import { type LoginResponse, type Role, ROLES, type SessionUser } from '../api/types.js';

export type Session = LoginResponse;

export type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export const SESSION_KEY = 'secondread.session';

function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

/** A stored session that is well-formed and not expired; anything else is removed and null returned. */
export function loadSession(storage: StorageLike, now: number = Date.now()): Session | null {
  const raw = storage.getItem(SESSION_KEY);
  if (raw === null) return null;
  let s: unknown;
  try {
    s = JSON.parse(raw);
  } catch {
    s = null;
  }
  const o = (s ?? {}) as { token?: unknown; expiresAt?: unknown; user?: { name?: unknown; role?: unknown } };
  const ok = typeof o.token === 'string' && o.token.length > 0 && typeof o.expiresAt === 'string' && typeof o.user?.name === 'string' && isRole(o.user.role);
  if (!ok || !(Date.parse(o.expiresAt as string) > now)) {
    storage.removeItem(SESSION_KEY);
    return null;
  }
  return { token: o.token as string, expiresAt: o.expiresAt as string, user: { name: o.user!.name as string, role: o.user!.role as Role } };
}

export function saveSession(storage: StorageLike, s: Session): void {
  storage.setItem(SESSION_KEY, JSON.stringify({ token: s.token, expiresAt: s.expiresAt, user: s.user }));
}

export function clearSession(storage: StorageLike): void {
  storage.removeItem(SESSION_KEY);
}

/** Checks a login answer before it is trusted as a session (a proxy or an old server may answer something else). */
export function parseLogin(body: unknown): Session {
  const o = (body ?? {}) as { token?: unknown; expiresAt?: unknown; user?: Partial<SessionUser> };
  if (typeof o.token !== 'string' || typeof o.expiresAt !== 'string' || typeof o.user?.name !== 'string' || !isRole(o.user.role)) {
    throw new Error('the server answered the sign-in with something unexpected');
  }
  return { token: o.token, expiresAt: o.expiresAt, user: { name: o.user.name, role: o.user.role } };
}
