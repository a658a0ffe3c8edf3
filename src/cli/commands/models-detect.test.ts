// `models register` and `models predict` on a detector, in-process on a temporary SECONDREAD_HOME: the version is
// described as a detector and predict prints boxes in the image's own pixels.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../core/config.js';
import { grayPng } from '../../data/images/testing.js';
import { migrateToLatest, openDatabase } from '../../storage/db.js';
import { openObjectStore } from '../../storage/open-object-store.js';
import { Tracker } from '../../tracking/index.js';
import { finishedRunWithDetector, TEST_DETECTION_CLASSES } from '../../tracking/testing.js';
import { runCli, tempCliHome } from '../testing.js';

let cli: Awaited<ReturnType<typeof tempCliHome>>;
let runId: string;
beforeAll(async () => {
  cli = await tempCliHome('sr-cli-models-detect-');
  const config = loadConfig();
  const db = openDatabase(config.database);
  await migrateToLatest(db);
  const objects = openObjectStore(config.objectStore);
  runId = await finishedRunWithDetector(new Tracker(db, objects));
  await objects.close();
  await db.destroy();
});
afterAll(async () => {
  await cli?.cleanup();
});

describe('secondread models … on a detector', () => {
  it('registers it as a detector and predict prints boxes in the original pixels', async () => {
    const reg = await runCli('models', 'register', runId, '--name', 'det');
    expect(reg.code, reg.err).toBe(0);
    expect(reg.out).toMatch(/det version 1 \(run .*; detector \(nms\), 3 classes, input 1×64×64/);
    const png = join(cli.dir, 'chest.png');
    await writeFile(png, await grayPng(100, 60, (x, y) => 60 + ((x * 5 + y * 3) % 120) + (x > 40 && x < 70 && y > 20 && y < 45 ? 70 : 0)));
    const json = await runCli('models', 'predict', 'det', png, '--json');
    expect(json.code, json.err).toBe(0);
    const body = JSON.parse(json.out) as { task: string; image: unknown; detections: { class: string; box: number[] }[] };
    expect(body).toMatchObject({ task: 'detect', image: { width: 100, height: 60 } });
    expect(body.detections.length).toBeGreaterThan(0);
    for (const d of body.detections) {
      expect(TEST_DETECTION_CLASSES).toContain(d.class);
      expect(d.box[2]!).toBeLessThanOrEqual(100);
      expect(d.box[3]!).toBeLessThanOrEqual(60);
    }
    const table = await runCli('models', 'predict', 'det', png);
    expect(table.out).toMatch(new RegExp(`det v1: ${body.detections.length} detections? on 100×60`));
  });
});
