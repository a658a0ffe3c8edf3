// Test fixture for registry.test.ts: registers run argv[4] as model argv[5], argv[6] times, against the
// SQLite file argv[2] and the object directory argv[3]; prints the versions it got as JSON, so the
// parent can race several processes on one database.
import { openDatabase } from '../../storage/db.js';
import { FsObjectStore } from '../../storage/fs-object-store.js';
import { ModelRegistry } from '../registry.js';
import { Tracker } from '../tracker.js';

const [sqlitePath, objectsDir, runId, name, times] = process.argv.slice(2);
if (!sqlitePath || !objectsDir || !runId || !name || !times) throw new Error('usage: register-child.ts <sqlite> <objects dir> <run> <name> <times>');
const db = openDatabase({ sqlitePath });
const objects = new FsObjectStore(objectsDir);
try {
  const registry = new ModelRegistry(db, objects, new Tracker(db, objects));
  const versions: number[] = [];
  for (let i = 0; i < Number(times); i++) versions.push((await registry.register({ runId, name, by: `child-${process.pid}` })).version);
  process.stdout.write(JSON.stringify(versions));
} finally {
  await objects.close();
  await db.destroy();
}
