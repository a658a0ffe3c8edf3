import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FsObjectStore } from '../storage/fs-object-store.js';
import { openTestDatabase, type TestDatabase } from '../storage/testing.js';
import { sweepOrphanStudyObjects } from './orphans.js';

let t: TestDatabase;
let dir: string;
let objects: FsObjectStore;

beforeEach(async () => {
  t = await openTestDatabase('sqlite');
  dir = await mkdtemp(join(tmpdir(), 'sr-orphans-'));
  objects = new FsObjectStore(dir);
});
afterEach(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

async function recordStudy(id: string): Promise<void> {
  await t.db
    .insertInto('studies')
    .values({
      id,
      modality: 'cxr',
      source: 'upload',
      dataset_version: null,
      dataset_sha256: null,
      image_key: `studies/${id}/image.png`,
      truth_class: null,
      status: 'awaiting_a',
      priority: 0,
      qa: 0,
      decision: null,
      decision_reasons_json: null,
      model_name: null,
      model_version: null,
      policy_id: null,
      final_label: null,
      created_by: `u_${id}`,
      created_at: '2026-01-01T00:00:00Z',
      decided_at: null,
      finalized_at: null,
      row_version: 1,
    })
    .execute();
}

const HOURS = 60 * 60 * 1000;
const later = (ms: number) => new Date(Date.now() + ms);

describe('sweepOrphanStudyObjects', () => {
  it('removes only objects of studies without a row, and only once they are older than the grace period', async () => {
    await recordStudy('st_kept');
    await objects.put('studies/st_kept/image.png', 'kept');
    await objects.put('studies/st_orphan/image.png', 'orphan');
    await objects.put('studies/st_orphan/dicom.json', '{}');
    await objects.put('models/m/1/model.onnx', 'not a study object');

    // Just written: inside the default one-hour grace period, so an intake in flight keeps its image.
    const fresh = await sweepOrphanStudyObjects(t.db, objects);
    expect(fresh).toEqual({ scanned: 3, removed: [], young: 2 });

    const dry = await sweepOrphanStudyObjects(t.db, objects, { now: later(2 * HOURS), dryRun: true });
    expect(dry.removed.sort()).toEqual(['studies/st_orphan/dicom.json', 'studies/st_orphan/image.png']);
    expect(await objects.head('studies/st_orphan/image.png')).toBeDefined();

    const swept = await sweepOrphanStudyObjects(t.db, objects, { now: later(2 * HOURS) });
    expect(swept.removed.sort()).toEqual(['studies/st_orphan/dicom.json', 'studies/st_orphan/image.png']);
    expect(await objects.head('studies/st_orphan/image.png')).toBeUndefined();
    expect(await objects.head('studies/st_kept/image.png')).toBeDefined();
    expect(await objects.head('models/m/1/model.onnx')).toBeDefined();
  });

  it('a zero grace period removes an orphan written just now', async () => {
    await objects.put('studies/st_x/image.png', 'x');
    const r = await sweepOrphanStudyObjects(t.db, objects, { graceMs: 0, now: later(1000) });
    expect(r.removed).toEqual(['studies/st_x/image.png']);
  });
});
