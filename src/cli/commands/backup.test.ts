// `secondread backup` / `restore` in-process: a home with studies, reads, audit entries, objects and a
// de-identification key is backed up and restored into an empty home; the restore verifies the audit chain
// and the counts, and every study image comes back byte for byte. Refusals: a non-empty backup directory,
// a restore into a home that has a database, a backup whose database was edited.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../core/config.js';
import { grayPng } from '../../data/images/testing.js';
import { migrateToLatest, openDatabase } from '../../storage/db.js';
import { FsObjectStore } from '../../storage/fs-object-store.js';
import { WorkflowService } from '../../workflow/service.js';
import { FakeModelReader } from '../../workflow/testing.js';
import { UserStore } from '../../workflow/users.js';
import { runCli, setEnv, tempCliHome } from '../testing.js';

let cli: Awaited<ReturnType<typeof tempCliHome>>;
const images = new Map<string, Buffer>();

beforeAll(async () => {
  cli = await tempCliHome('sr-cli-backup-');
  const config = loadConfig();
  const db = openDatabase(config.database);
  await migrateToLatest(db);
  const objects = new FsObjectStore(join(config.home, 'objects'));
  const { user } = await new UserStore(db).addUser({ name: 'reader-a', role: 'reader' });
  const workflow = new WorkflowService({ db, objects, model: new FakeModelReader() });
  for (let i = 0; i < 4; i++) {
    const png = await grayPng(16, 16, (x, y) => (x * 7 + y * 3 + i * 11) % 256);
    const study = await workflow.intake({ id: user.id, name: user.name, role: user.role }, { modality: 'cxr', image: png });
    images.set(study.id, png);
    await workflow.commitRead({ id: user.id, name: user.name, role: user.role }, study.id, { label: 'lung-normal' });
  }
  await writeFile(join(config.home, 'deid.key'), 'k'.repeat(64), { mode: 0o600 });
  await db.destroy();
});
afterAll(async () => {
  await cli?.cleanup();
});

describe('secondread backup / restore', () => {
  it('backs up a live home and restores it into an empty one: audit verified, counts equal, images identical', async () => {
    const dir = join(cli.dir, 'backup-1');
    const backup = await runCli('backup', dir, '--json');
    expect(backup.code, backup.err).toBe(0);
    const manifest = JSON.parse(backup.out);
    expect(manifest).toMatchObject({ format: 'secondread-backup/1', database: { rows: { studies: 4, reads: 8 } }, files: ['deid.key'] });
    expect(manifest.database.rows.audit_log).toBeGreaterThanOrEqual(8);
    expect(manifest.objects.count).toBe(4);

    const restoreEnv = setEnv({ SECONDREAD_HOME: join(cli.dir, 'restored-home') });
    try {
      const restored = await runCli('restore', dir, '--json');
      expect(restored.code, restored.err).toBe(0);
      const result = JSON.parse(restored.out);
      expect(result.rows).toEqual(manifest.database.rows);
      expect(result.auditEntriesVerified).toBe(manifest.database.rows.audit_log);
      const home = loadConfig().home;
      const objects = new FsObjectStore(join(home, 'objects'));
      const db = openDatabase(loadConfig().database);
      const rows = await db.selectFrom('studies').select(['id', 'image_key']).execute();
      expect(rows.map((r) => r.id).sort()).toEqual([...images.keys()].sort());
      for (const r of rows) expect((await objects.getBytes(r.image_key)).equals(images.get(r.id)!)).toBe(true);
      await db.destroy();
      expect(await readFile(join(home, 'deid.key'), 'utf8')).toBe('k'.repeat(64));

      const again = await runCli('restore', dir);
      expect(again.code).not.toBe(0);
      expect(again.err).toMatch(/restore needs an empty home/);
    } finally {
      restoreEnv();
    }
  });

  it('refuses a backup into a non-empty directory and a restore of an edited backup', async () => {
    const dir = join(cli.dir, 'backup-2');
    expect((await runCli('backup', dir)).code).toBe(0);
    const second = await runCli('backup', dir);
    expect(second.code).not.toBe(0);
    expect(second.err).toMatch(/is not empty/);

    const db = join(dir, 'secondread.db');
    const bytes = await readFile(db);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    await writeFile(db, bytes);
    const restoreEnv = setEnv({ SECONDREAD_HOME: join(cli.dir, 'restored-home-2') });
    try {
      const restored = await runCli('restore', dir);
      expect(restored.code).not.toBe(0);
      expect(restored.err).toMatch(/does not match its manifest/);
    } finally {
      restoreEnv();
      await rm(join(cli.dir, 'restored-home-2'), { recursive: true, force: true });
    }
  });
});
