// Sign in with name and password (POST /v1/auth/login) → a session token kept in sessionStorage.
import { type FormEvent, useEffect, useRef, useState } from 'react';

import { ApiError, describeError } from '../api/client.js';
import { parseLogin } from '../auth/session.js';
import { useSession } from '../auth/SessionContext.js';
import { homeFor } from '../nav.js';
import { navigate } from '../router.js';

export function LoginPage() {
  const { api, signIn, notice } = useSession();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nameRef = useRef<HTMLInputElement | null>(null);

  useEffect(() => nameRef.current?.focus(), []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const s = parseLogin(await api.post('/v1/auth/login', { name: name.trim(), password }));
      signIn(s);
      navigate(homeFor(s.user.role), { replace: true });
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'invalid_credentials' ? 'Wrong name or password.' : describeError(err));
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login">
      <form id="login-form" data-testid="login-form" onSubmit={(e) => void submit(e)} aria-labelledby="login-title" noValidate>
        <h1 id="login-title">Sign in to secondread</h1>
        {notice && (
          <p className="notice" role="status" data-testid="login-notice">
            {notice}
          </p>
        )}
        <label htmlFor="login-name">Name</label>
        <input
          id="login-name"
          data-testid="login-name"
          ref={nameRef}
          name="username"
          autoComplete="username"
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <label htmlFor="login-password">Password</label>
        <input
          id="login-password"
          data-testid="login-password"
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        {error && (
          <p className="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" id="login-submit" data-testid="login-submit" disabled={busy || name.trim() === '' || password === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
