// `data export` and `data import` through the CLI: a detection version out to Label Studio (folder) and YOLO
// (zip), corrected tasks back as a new version that `data validate` accepts; bad input exits 2 with the file and
// record named and no stack trace; both commands explain themselves in --help.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../core/config.js';
import type { LabelStudioTask } from '../../data/detection/formats/label-studio.js';
import { migrateToLatest, openDatabase } from '../../storage/db.js';
import { openObjectStore } from '../../storage/open-object-store.js';
import { Tracker } from '../../tracking/index.js';
import { finishedRunWithDetector, finishedRunWithModel, TEST_DETECTION_CLASSES } from '../../tracking/testing.js';
import { runCli, tempCliHome } from '../testing.js';

let cli: Awaited<ReturnType<typeof tempCliHome>>;
let version = '';
beforeAll(async () => {
  cli = await tempCliHome('sr-cli-exchange-');
  const synth = await runCli('data', 'synth', '--task', 'detect', '--out', join(cli.dir, 'raw'), '--images', '10', '--size', '96', '--workers', '0');
  expect(synth.code, synth.err).toBe(0);
  const build = await runCli('data', 'build', '--config', join(cli.dir, 'raw', 'datasets-detect.yaml'), '--json');
  expect(build.code, build.err).toBe(0);
  version = (JSON.parse(build.out) as { version: string }).version;
});
afterAll(async () => {
  await cli?.cleanup();
});

describe('secondread data export / import', () => {
  it('explain themselves in --help', async () => {
    const ex = await runCli('data', 'export', '--help');
    expect(ex.code).toBe(0);
    expect(ex.out).toMatch(/--format <format>[^]*\(choices: "coco",\s+"yolo",\s+"labelstudio"\)/);
    expect(ex.out).toContain('LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT');
    expect(ex.out).toContain('not a model');
    const im = await runCli('data', 'import', '--help');
    expect(im.code).toBe(0);
    expect(im.out).toContain('0.5 px outside its image');
    expect(im.out).toContain('lineage.jsonl');
  });

  it('Label Studio out and back: a new version with the correction, which data validate accepts', async () => {
    const out = join(cli.dir, 'ls-export');
    const ex = await runCli('data', 'export', '--format', 'labelstudio', '--dataset', version.slice(0, 8), '--out', out);
    expect(ex.code, ex.err).toBe(0);
    expect(ex.out).toMatch(new RegExp(`exported 10 images with \\d+ boxes of ${version} as labelstudio`));
    expect(ex.out).toContain(`pre-annotations: reference:${version}`);
    const tasks = JSON.parse(await readFile(join(out, 'tasks.json'), 'utf8')) as LabelStudioTask[];
    expect(tasks[0]!.data.image).toBe(`/data/local-files/?d=ls-export/images/${tasks[0]!.data.split}/${tasks[0]!.data.image_id}`);
    // Every task submitted as pre-annotated, except that the first loses its boxes (the radiologist: no finding).
    tasks.forEach((t, i) => (t.annotations = [{ id: i + 1, completed_by: { email: 'dr.b@example.org' }, result: i === 0 ? [] : t.predictions![0]!.result }]));
    const corrected = join(cli.dir, 'corrected.json');
    await writeFile(corrected, JSON.stringify(tasks));
    const im = await runCli('data', 'import', '--format', 'labelstudio', corrected, '--base', version);
    expect(im.code, im.err).toBe(0);
    const next = im.out.trim().split('\n').at(-1)!;
    expect(next).toMatch(/^ds-[0-9a-f]{20}$/);
    expect(im.out).toContain(`built dataset version ${next} from labelstudio labels on ${version}`);
    expect(im.out).toMatch(/labelled: 10 of 10 images \(\d+ with no finding\), [01] changed from the base/);
    expect(im.out).toContain('readers: ls:dr.b@example.org');
    const again = await runCli('data', 'import', '--format', 'labelstudio', corrected, '--base', version, '--json');
    expect(JSON.parse(again.out)).toMatchObject({ version: next, built: false });
    const validate = await runCli('data', 'validate', next);
    expect(validate.code, validate.out).toBe(0);
    expect((await runCli('data', 'ls')).out).toMatch(new RegExp(`${next}\\s+ready\\s+10\\s+import labelstudio`));
  });

  it("--with-model: a registered detector's boxes as the pre-annotations; a classifier is refused", async () => {
    const config = loadConfig();
    const db = openDatabase(config.database);
    await migrateToLatest(db);
    const objects = openObjectStore(config.objectStore);
    const tracker = new Tracker(db, objects);
    const detRun = await finishedRunWithDetector(tracker, { thresholds: { scoreThreshold: 0.01, iouThreshold: 0.7, maxDetections: 20 } });
    const clsRun = await finishedRunWithModel(tracker);
    await objects.close();
    await db.destroy();
    expect((await runCli('models', 'register', detRun, '--name', 'det')).code).toBe(0);
    expect((await runCli('models', 'register', clsRun, '--name', 'cls')).code).toBe(0);
    const out = join(cli.dir, 'ls-model');
    const r = await runCli('data', 'export', '--format', 'labelstudio', '--dataset', version, '--with-model', 'det@1', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('pre-annotations: det@1');
    const tasks = JSON.parse(await readFile(join(out, 'tasks.json'), 'utf8')) as LabelStudioTask[];
    const results = tasks.flatMap((t) => t.predictions![0]!.result);
    expect(tasks.every((t) => t.predictions![0]!.model_version === 'det@1')).toBe(true);
    expect(results.length).toBeGreaterThan(0);
    for (const x of results) {
      expect(TEST_DETECTION_CLASSES as readonly string[]).toContain(x.value.rectanglelabels[0]);
      expect(x.value.x).toBeGreaterThanOrEqual(0);
      expect(x.value.x + x.value.width).toBeLessThanOrEqual(100 + 1e-9);
      expect(x.score).toBeGreaterThan(0.01);
    }
    const cls = await runCli('data', 'export', '--format', 'labelstudio', '--dataset', version, '--with-model', 'cls', '--out', join(cli.dir, 'ls-cls'));
    expect(cls.code).toBe(2);
    expect(cls.err).toContain('is a classifier: Label Studio pre-annotations need a detector');
  });

  it('YOLO into a zip', async () => {
    const zip = join(cli.dir, 'cxr-yolo.zip');
    const r = await runCli('data', 'export', '--format', 'yolo', '--dataset', version, '--out', zip, '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ format: 'yolo', images: 10, out: zip });
    expect((await stat(zip)).size).toBeGreaterThan(1000);
  });

  it('bad input: exit 2, the file and record named, no stack trace, no version', async () => {
    const before = (await runCli('data', 'ls', '--json')).out;
    const bad = join(cli.dir, 'bad.json');
    await writeFile(bad, JSON.stringify([{ data: { image_id: 'nope.png', image: '/x/nope.png' }, annotations: [{ result: [] }] }]));
    const r = await runCli('data', 'import', '--format', 'labelstudio', bad, '--base', version);
    expect(r.code).toBe(2);
    expect(r.err).toContain("bad.json: task 0: image 'nope.png' is not in the base dataset version");
    expect(r.err).not.toMatch(/at .*\.ts:\d+/);
    expect((await runCli('data', 'ls', '--json')).out).toBe(before);
    const notEmpty = await runCli('data', 'export', '--format', 'coco', '--dataset', version, '--out', cli.dir);
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.err).toContain('the folder is not empty');
  });
});
