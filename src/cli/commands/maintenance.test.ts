// `secondread maintenance sweep` in-process on a temporary SECONDREAD_HOME: a dry run lists the objects
// of a study that was never recorded, the sweep removes them and leaves everything else; a bad grace
// period is a usage error (exit 2).
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../core/config.js';
import { type Db, migrateToLatest, openDatabase } from '../../storage/db.js';
import { FsObjectStore } from '../../storage/fs-object-store.js';
import { runCli, tempCliHome } from '../testing.js';

let cli: Awaited<ReturnType<typeof tempCliHome>>;
let db: Db;
let objects: FsObjectStore;
beforeAll(async () => {
  cli = await tempCliHome('sr-cli-maintenance-');
  db = openDatabase(loadConfig().database);
  await migrateToLatest(db);
  objects = new FsObjectStore(join(cli.home, 'objects'));
});
afterAll(async () => {
  await db.destroy();
  await cli?.cleanup();
});

describe('secondread maintenance sweep', () => {
  it('lists, then removes, study objects no row refers to; other objects stay', async () => {
    await objects.put('studies/st_never_recorded/image.png', 'png');
    await objects.put('runs/r1/model.onnx', 'onnx');

    // Default grace (60 minutes): just written, so kept.
    expect(JSON.parse((await runCli('maintenance', 'sweep', '--json')).out)).toMatchObject({ removed: [], young: 1, scanned: 1 });

    const dry = await runCli('maintenance', 'sweep', '--grace-minutes', '0', '--dry-run');
    expect(dry).toMatchObject({ code: 0, out: expect.stringMatching(/^would remove 1 orphan object\(s\) of 1 scanned/) });
    expect(await objects.head('studies/st_never_recorded/image.png')).toBeDefined();

    const swept = await runCli('maintenance', 'sweep', '--grace-minutes', '0', '--json');
    expect(JSON.parse(swept.out)).toMatchObject({ removed: ['studies/st_never_recorded/image.png'], dryRun: false });
    expect(await objects.head('studies/st_never_recorded/image.png')).toBeUndefined();
    expect(await objects.head('runs/r1/model.onnx')).toBeDefined();
  });

  it('refuses a negative or non-numeric grace period', async () => {
    expect(await runCli('maintenance', 'sweep', '--grace-minutes', '-1')).toMatchObject({ code: 2, err: expect.stringMatching(/--grace-minutes/) });
    expect((await runCli('maintenance', 'sweep', '--grace-minutes', 'soon')).code).toBe(2);
  });
});
