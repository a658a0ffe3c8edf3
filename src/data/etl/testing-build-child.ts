// Child process for the kill -9 test (build.kill.test.ts): runs a real build against the fixture
// folder given in argv, and after `pauseAfter` object writes prints PAUSED and blocks inside the next
// put — so the parent can SIGKILL it at a known point in the middle of the upload phase.
import { join } from 'node:path';

import { migrateToLatest, openDatabase } from '../../storage/db.js';
import { FsObjectStore } from '../../storage/fs-object-store.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { buildDataset } from './build.js';
import { loadDatasetConfig } from './config.js';

const [dir, configFile, pauseAfterArg] = process.argv.slice(2) as [string, string, string];
const pauseAfter = Number(pauseAfterArg);
const db = openDatabase({ sqlitePath: join(dir, 'secondread.db') });
await migrateToLatest(db);
const store = new FsObjectStore(join(dir, 'objects'));
let puts = 0;
const objects: ObjectStore = Object.assign(Object.create(store) as ObjectStore, {
  put: async (...args: Parameters<ObjectStore['put']>) => {
    if (puts++ >= pauseAfter) {
      process.stdout.write('PAUSED\n');
      await new Promise(() => {}); // never resolves: the parent kills us here
    }
    return store.put(...args);
  },
});
const r = await buildDataset({ db, objects, config: loadDatasetConfig(configFile), concurrency: 3 });
process.stdout.write(`DONE ${r.versionId}\n`);
await db.destroy();
