// The session for the whole app: who is signed in, and the API client that carries their token.
// A 401 from any call (expired or revoked session) signs out and returns to the login page.
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';

import { ApiClient } from '../api/client.js';
import { navigate } from '../router.js';
import { clearSession, loadSession, saveSession, type Session } from './session.js';

interface SessionState {
  session: Session | null;
  api: ApiClient;
  /** Why the last session ended, shown on the login page (null after a deliberate sign-out). */
  notice: string | null;
  signIn(s: Session): void;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => loadSession(window.sessionStorage));
  const [notice, setNotice] = useState<string | null>(null);

  const expire = useCallback((why: string) => {
    clearSession(window.sessionStorage);
    setSession(null);
    setNotice(why);
    navigate('/login', { replace: true });
  }, []);

  const api = useMemo(
    () => new ApiClient({ token: session?.token ?? null, onUnauthenticated: () => expire('Your session has ended. Please sign in again.') }),
    [session, expire],
  );

  // Sign out at the moment the session expires, not at the next failed request.
  useEffect(() => {
    if (!session) return;
    const ms = Date.parse(session.expiresAt) - Date.now();
    const t = window.setTimeout(() => expire('Your session expired. Please sign in again.'), Math.max(0, Math.min(ms, 2_147_000_000)));
    return () => window.clearTimeout(t);
  }, [session, expire]);

  const signIn = useCallback((s: Session) => {
    saveSession(window.sessionStorage, s);
    setNotice(null);
    setSession(s);
  }, []);

  const signOut = useCallback(async () => {
    // Revoke the token on the server; sign out locally whatever it answers (it may be down).
    await api.post('/v1/auth/logout').catch(() => undefined);
    clearSession(window.sessionStorage);
    setNotice(null);
    setSession(null);
    navigate('/login', { replace: true });
  }, [api]);

  const value = useMemo(() => ({ session, api, notice, signIn, signOut }), [session, api, notice, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
