// The bootstrap's small pieces: which store a marker belongs to, the lock between two starts, the credentials
// file (round trip, passwords kept across runs, owner-only mode).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../core/config.js';
import { ConflictError } from '../core/errors.js';
import { completeCredentials, DEMO_USERS, formatCredentials, generatePassword, parseCredentials, writeCredentials } from './credentials.js';
import { acquireLock, storeIdentity } from './state.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sr-demo-state-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('storeIdentity', () => {
  it('is relative to the home for the embedded default and names any other store', () => {
    const a = storeIdentity(loadConfig({ env: { SECONDREAD_HOME: '/srv/a/home' } }));
    expect(a).toBe('sqlite:$SECONDREAD_HOME/secondread.db file://$SECONDREAD_HOME/objects');
    expect(storeIdentity(loadConfig({ env: { SECONDREAD_HOME: '/moved/elsewhere' } }))).toBe(a);
    const pg = storeIdentity(loadConfig({ env: { SECONDREAD_HOME: '/srv/a/home', DATABASE_URL: 'postgres://u:secret@db:5432/sr' } }));
    expect(pg).toBe('postgres://u:***@db:5432/sr file://$SECONDREAD_HOME/objects');
  });
});

describe('acquireLock', () => {
  it('refuses a lock held by a live process, takes over one left by a dead process', async () => {
    const path = join(dir, 'bootstrap.lock');
    await writeFile(path, `${process.ppid}\n`);
    await expect(acquireLock(path)).rejects.toBeInstanceOf(ConflictError);

    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeFile(path, `${dead}\n`);
    const release = await acquireLock(path);
    expect((await readFile(path, 'utf8')).trim()).toBe(String(process.pid));
    await release();
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('demo credentials', () => {
  it('round-trips through the file, owner-only, and keeps recorded passwords', async () => {
    const creds = completeCredentials([]);
    expect(creds.map((c) => c.name)).toEqual(DEMO_USERS.map((u) => u.name));
    for (const c of creds) expect(c.password).toMatch(/^[A-Za-z0-9_-]{18}$/);
    expect(new Set(creds.map((c) => c.password)).size).toBe(creds.length);

    const path = join(dir, 'demo-credentials.txt');
    await writeFile(path, 'old\n', { mode: 0o644 });
    await writeCredentials(path, creds);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const back = parseCredentials(await readFile(path, 'utf8'));
    expect(back).toEqual(creds);

    // A file missing a user (or naming a user with another role) keeps the others' passwords and makes one anew.
    const partial = parseCredentials(formatCredentials([creds[0]!, { ...creds[1]!, role: 'admin' }]));
    const again = completeCredentials(partial);
    expect(again[0]).toEqual(creds[0]);
    expect(again[1]!.password).not.toBe(creds[1]!.password);
    expect(generatePassword()).not.toBe(generatePassword());
  });
});
