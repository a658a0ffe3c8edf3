// The site's de-identification key. Production sets SECONDREAD_DEID_KEY (≥ 32 hex digits or ≥ 16
// characters of a secret, from a secret store); the embedded default makes a random key once and
// keeps it in <home>/deid.key (mode 0600), so the same patient keeps the same pseudonym across
// restarts. The key never lives in the repository, the database or the object store.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { ConfigError } from '../../../core/errors.js';

export function loadDeidKey(o: { home: string; envKey?: string }): Uint8Array {
  if (o.envKey !== undefined && o.envKey !== '') {
    const k = o.envKey.trim();
    if (k.length < 16) throw new ConfigError('SECONDREAD_DEID_KEY must be at least 16 characters (use 32+ random hex digits)');
    return /^[0-9a-f]+$/i.test(k) && k.length % 2 === 0 ? Buffer.from(k, 'hex') : Buffer.from(k, 'utf8');
  }
  const path = join(o.home, 'deid.key');
  if (existsSync(path)) {
    const hex = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/i.test(hex))
      throw new ConfigError(`${path} is not a 64-hex-digit de-identification key; restore it from backup (pseudonyms depend on it)`);
    return Buffer.from(hex, 'hex');
  }
  mkdirSync(dirname(path), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return key;
}
