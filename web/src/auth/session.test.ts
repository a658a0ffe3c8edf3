import { describe, expect, it } from 'vitest';

import { clearSession, loadSession, parseLogin, saveSession, SESSION_KEY, type StorageLike } from './session.js';

function memory(): StorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

const NOW = Date.parse('2026-03-01T12:00:00Z');
const session = { token: 'sr_x', expiresAt: '2026-03-02T00:00:00Z', user: { name: 'rita', role: 'reader' as const } };

describe('session storage', () => {
  it('round-trips a session and clears it', () => {
    const s = memory();
    saveSession(s, session);
    expect(loadSession(s, NOW)).toEqual(session);
    clearSession(s);
    expect(loadSession(s, NOW)).toBeNull();
  });

  it('drops an expired, malformed or unknown-role session', () => {
    for (const raw of [
      JSON.stringify({ ...session, expiresAt: '2026-03-01T11:59:59Z' }),
      JSON.stringify({ ...session, expiresAt: 'soon' }),
      JSON.stringify({ ...session, user: { name: 'x', role: 'root' } }),
      JSON.stringify({ ...session, token: '' }),
      '{not json',
      'null',
    ]) {
      const s = memory();
      s.setItem(SESSION_KEY, raw);
      expect(loadSession(s, NOW), raw).toBeNull();
      expect(s.map.has(SESSION_KEY), raw).toBe(false);
    }
  });

  it('parseLogin accepts the contract shape only', () => {
    expect(parseLogin({ ...session, extra: 1 })).toEqual(session);
    expect(() => parseLogin({ token: 't' })).toThrow(/unexpected/);
    expect(() => parseLogin(null)).toThrow(/unexpected/);
  });
});
