// Test fixtures for tracking: a migrated test database and a filesystem object store in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { DbDialect } from '../storage/db.js';
import { FsObjectStore } from '../storage/fs-object-store.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { Tracker } from './tracker.js';

export interface TrackingFixture {
  t: TestDatabase;
  objects: FsObjectStore;
  tracker: Tracker;
  dir: string;
  close(): Promise<void>;
}

export async function openTrackingFixture(dialect: DbDialect = 'sqlite', clock?: Clock): Promise<TrackingFixture> {
  const t = await openTestDatabase(dialect);
  const dir = mkdtempSync(join(tmpdir(), 'secondread-tracking-'));
  const objects = new FsObjectStore(join(dir, 'objects'));
  return {
    t,
    objects,
    dir,
    tracker: new Tracker(t.db, objects, clock),
    close: async () => {
      await objects.close();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
