// Export → (annotation tool) → import, for COCO, YOLO and Label Studio, on a version built from the VinDr-layout
// phantoms: the imported version's reference boxes equal the exported ones within 1e-3 px, the base is untouched,
// lineage names file, record and annotator; every kind of bad input is refused with the file and record named and
// leaves no version behind.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ValidationError } from '../../../core/errors.js';
import { listImages, listVersions } from '../../datasets/repository.js';
import { buildDataset } from '../../etl/build.js';
import { loadDatasetConfig } from '../../etl/config.js';
import { annotationsKey } from '../../etl/naming.js';
import { type Fixture, openFixture } from '../../etl/testing.js';
import { lineageKey } from '../../feedback/build.js';
import { createZipWriter } from '../../synth/archive-writer.js';
import { synthesizeDetection } from '../../synth/index.js';
import { readAnnotations } from '../annotations.js';
import { DETECTION_CLASSES } from '../types.js';
import type { CocoDataset } from './coco.js';
import { exportVersion, type PredictionSource } from './export-version.js';
import { createFolderWriter } from './folder-writer.js';
import { importLabels } from './import-version.js';
import type { LabelStudioTask } from './label-studio.js';
import type { ExchangeFormat } from './read-import.js';

/** The round-trip tolerance stated in docs/detection.md. */
const TOLERANCE_PX = 1e-3;

let fx: Fixture;
let base = '';
let work = '';
beforeAll(async () => {
  fx = await openFixture('sr-exchange-');
  work = await mkdtemp(join(tmpdir(), 'sr-exchange-files-'));
  const synth = await synthesizeDetection({ outDir: join(fx.dir, 'raw'), images: 16, size: 96, normalFraction: 0.2, workers: 0 });
  base = (await buildDataset({ db: fx.db, objects: fx.objects, config: loadDatasetConfig(synth.configPath) })).versionId;
});
afterAll(async () => {
  await fx.cleanup();
  await rm(work, { recursive: true, force: true });
});

type Ref = { classId: number; box: number[] };
/** file name → its reference boxes, sorted. */
async function references(version: string): Promise<Map<string, Ref[]>> {
  const names = new Map((await listImages(fx.db, version)).map((i) => [i.objectKey, i.fileName]));
  const out = new Map<string, Ref[]>();
  for (const a of (await readAnnotations(fx.objects, version))!) {
    const refs = a.reference!.map((r) => ({ classId: r.classId, box: [r.x0, r.y0, r.x1, r.y1] }));
    out.set(
      names.get(a.objectKey)!,
      refs.sort((p, q) => p.classId - q.classId || p.box[0]! - q.box[0]!),
    );
  }
  return out;
}

function expectSameReferences(a: Map<string, Ref[]>, b: Map<string, Ref[]>) {
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [name, refs] of a) {
    const other = b.get(name)!;
    expect(
      other.map((r) => r.classId),
      name,
    ).toEqual(refs.map((r) => r.classId));
    refs.forEach((r, i) => r.box.forEach((v, k) => expect(Math.abs(other[i]!.box[k]! - v)).toBeLessThanOrEqual(TOLERANCE_PX)));
  }
}

async function exportTo(format: ExchangeFormat, name: string, extra: { predictions?: 'reference' | 'none' | PredictionSource } = {}) {
  const dir = join(work, name);
  const writer = await createFolderWriter(dir);
  const summary = await exportVersion({ db: fx.db, objects: fx.objects, version: base, format, writer, ...extra });
  await writer.finish();
  return { dir, summary };
}

describe('export → import round trip', () => {
  it('COCO: same boxes within 1e-3 px, base images and splits kept, the base untouched, a re-import is a no-op', async () => {
    const before = await references(base);
    const baseText = (await fx.objects.getBytes(annotationsKey(base))).toString('utf8');
    const { dir, summary } = await exportTo('coco', 'coco');
    expect(summary.images).toBe(16);
    expect(summary.files.filter((f) => f.startsWith('annotations/instances_')).length).toBe(Object.keys(summary.splits).length);
    const r = await importLabels({ db: fx.db, objects: fx.objects, base, format: 'coco', path: dir, annotator: 'dr.c' });
    expect(r.built).toBe(true);
    expect(r.versionId).not.toBe(base);
    expect(r.report).toMatchObject({ labelled: 16, changed: 0, readers: ['coco:dr.c'], base: { version: base, images: 16 } });
    expectSameReferences(before, await references(r.versionId));
    const strip = (rows: Awaited<ReturnType<typeof listImages>>) => rows.map((i) => [i.objectKey, i.sha256, i.split, i.class]);
    expect(strip(await listImages(fx.db, r.versionId))).toEqual(strip(await listImages(fx.db, base)));
    expect((await fx.objects.getBytes(annotationsKey(base))).toString('utf8')).toBe(baseText);
    const lineage = (await fx.objects.getBytes(lineageKey(r.versionId)))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lineage).toHaveLength(16);
    expect(lineage[0]).toMatchObject({
      format: 'coco',
      reader: 'coco:dr.c',
      annotator: 'dr.c',
      file: expect.stringMatching(/^annotations\/instances_\w+\.json$/),
    });
    const again = await importLabels({ db: fx.db, objects: fx.objects, base, format: 'coco', path: dir, annotator: 'dr.c' });
    expect(again).toMatchObject({ versionId: r.versionId, built: false });
  });

  it('YOLO: same boxes within 1e-3 px (7-decimal fractions), data.yaml names read; a zip of it gives the same version', async () => {
    const before = await references(base);
    const { dir } = await exportTo('yolo', 'yolo');
    expect(await readFile(join(dir, 'data.yaml'), 'utf8')).toContain('13: "Pulmonary fibrosis"');
    const r = await importLabels({ db: fx.db, objects: fx.objects, base, format: 'yolo', path: dir });
    expect(r.report).toMatchObject({ labelled: 16, changed: 0, readers: ['yolo:unknown'] });
    expect(r.report.files.map((f) => f.path)).toContain('data.yaml');
    expectSameReferences(before, await references(r.versionId));
    // The same as a zip archive (what `data export --out x.zip` writes): the same files, so the same version.
    const zip = join(work, 'yolo.zip');
    const writer = createZipWriter(zip);
    await exportVersion({ db: fx.db, objects: fx.objects, version: base, format: 'yolo', writer });
    await writer.finish();
    expect(await importLabels({ db: fx.db, objects: fx.objects, base, format: 'yolo', path: zip })).toMatchObject({ versionId: r.versionId, built: false });
  });

  it('Label Studio: predictions in percent; submitted tasks come back (an edit, a deletion), unsubmitted ones keep the base', async () => {
    const before = await references(base);
    const { dir, summary } = await exportTo('labelstudio', 'ls');
    expect(summary.predictions).toBe(`reference:${base}`);
    const tasks = JSON.parse(await readFile(join(dir, 'tasks.json'), 'utf8')) as LabelStudioTask[];
    expect(tasks).toHaveLength(16);
    expect(await readFile(join(dir, 'labeling-config.xml'), 'utf8')).toContain('<RectangleLabels name="label" toName="image">');
    const boxed = tasks.findIndex((t) => t.predictions![0]!.result.length >= 2);
    expect(boxed).toBeGreaterThanOrEqual(0);
    const first = tasks[boxed]!.predictions![0]!.result[0]!;
    const name = tasks[boxed]!.data.image_id;
    const ref = before.get(name)!;
    // Percent of the image, as Label Studio stores rectangles.
    expect(first.value.x).toBeCloseTo(
      (100 * Math.min(...ref.filter((r) => DETECTION_CLASSES[r.classId] === first.value.rectanglelabels[0]).map((r) => r.box[0]!))) / first.original_width,
      6,
    );
    // The radiologist accepts the pre-annotations of every task but the last two, and deletes one box on `boxed`.
    tasks.forEach((t, i) => {
      if (i >= tasks.length - 2) return;
      const result = i === boxed ? t.predictions![0]!.result.slice(1) : t.predictions![0]!.result;
      t.annotations = [{ id: 100 + i, completed_by: { email: 'dr.a@example.org' }, updated_at: '2026-12-06T09:00:00Z', result }];
    });
    const file = join(work, 'ls-corrected.json');
    await writeFile(file, JSON.stringify(tasks));
    const r = await importLabels({ db: fx.db, objects: fx.objects, base, format: 'labelstudio', path: file });
    expect(r.report).toMatchObject({ labelled: 14, unreviewed: 2, changed: 1, readers: ['ls:dr.a@example.org'] });
    const after = await references(r.versionId);
    const expected = new Map(before);
    expected.set(name, after.get(name)!);
    expectSameReferences(expected, after);
    expect(after.get(name)!.length).toBe(ref.length - 1);
    const lineage = (await fx.objects.getBytes(lineageKey(r.versionId)))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lineage.find((l) => l.record === `task ${boxed}`)).toMatchObject({
      file: 'ls-corrected.json',
      annotator: 'dr.a@example.org',
      fields: { annotation_id: 100 + boxed, completed_by: 'dr.a@example.org', updated_at: '2026-12-06T09:00:00Z' },
    });
  });

  it("Label Studio: a model's boxes become the predictions when a source is given; --no-predictions leaves them out", async () => {
    const model: PredictionSource = {
      modelVersion: 'det-test@1',
      predict: async ({ width, height }) => [{ classId: 3, x0: 0, y0: 0, x1: width / 2, y1: height / 4, score: 0.7 }],
    };
    const { dir, summary } = await exportTo('labelstudio', 'ls-model', { predictions: model });
    expect(summary.predictions).toBe('det-test@1');
    const tasks = JSON.parse(await readFile(join(dir, 'tasks.json'), 'utf8')) as LabelStudioTask[];
    expect(tasks[0]!.predictions![0]).toMatchObject({
      model_version: 'det-test@1',
      result: [{ score: 0.7, value: { x: 0, y: 0, width: 50, height: 25, rectanglelabels: ['Cardiomegaly'] } }],
    });
    const none = await exportTo('labelstudio', 'ls-none', { predictions: 'none' });
    expect(none.summary.predictions).toBeNull();
    expect((JSON.parse(await readFile(join(none.dir, 'tasks.json'), 'utf8')) as LabelStudioTask[])[0]!.predictions).toBeUndefined();
  });
});

describe('a DICOM version', () => {
  it('is exported as 8-bit PNGs of the same size, and the labels come back onto the .dicom images', async () => {
    const dfx = await openFixture('sr-exchange-dicom-');
    try {
      const synth = await synthesizeDetection({ outDir: join(dfx.dir, 'raw'), images: 4, size: 64, normalFraction: 0, workers: 0, format: 'dicom' });
      const key = Buffer.alloc(32, 7);
      const v = (await buildDataset({ db: dfx.db, objects: dfx.objects, config: loadDatasetConfig(synth.configPath), dicom: { key } })).versionId;
      const rows = await listImages(dfx.db, v);
      expect(rows.every((r) => r.format === 'dicom')).toBe(true);
      const dir = join(work, 'dicom-coco');
      const writer = await createFolderWriter(dir);
      const summary = await exportVersion({ db: dfx.db, objects: dfx.objects, version: v, format: 'coco', writer });
      expect(summary.renderedDicom).toBe(4);
      const png = summary.files.find((f) => f.startsWith('images/'))!;
      expect(png).toMatch(/\.png$/);
      const meta = await sharp(await readFile(join(dir, png))).metadata();
      expect([meta.format, meta.channels]).toEqual(['png', 1]);
      expect(rows.some((r) => r.width === meta.width && r.height === meta.height)).toBe(true);
      const r = await importLabels({ db: dfx.db, objects: dfx.objects, base: v, format: 'coco', path: dir });
      expect(r.report).toMatchObject({ labelled: 4, changed: 0 });
    } finally {
      await dfx.cleanup();
    }
  });
});

describe('bad input is refused at the boundary, with the file and record named, and no version is written', () => {
  let coco: CocoDataset;
  let tasks: LabelStudioTask[];
  let image = { name: '', width: 0, height: 0 };
  beforeAll(async () => {
    const c = await exportTo('coco', 'bad-coco');
    coco = JSON.parse(await readFile(join(c.dir, 'annotations', `instances_${Object.keys(c.summary.splits)[0]}.json`), 'utf8')) as CocoDataset;
    const im = coco.images[0]!;
    image = { name: im.file_name, width: im.width, height: im.height };
    const l = await exportTo('labelstudio', 'bad-ls');
    tasks = JSON.parse(await readFile(join(l.dir, 'tasks.json'), 'utf8')) as LabelStudioTask[];
  });

  async function refused(format: ExchangeFormat, files: Record<string, string>, message: RegExp) {
    const dir = await mkdtemp(join(work, `bad-${format}-`));
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(dir, name, '..'), { recursive: true });
      await writeFile(join(dir, name), text);
    }
    const versions = (await listVersions(fx.db)).length;
    const err = await importLabels({ db: fx.db, objects: fx.objects, base, format, path: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(message);
    expect((await listVersions(fx.db)).length).toBe(versions);
  }
  const submitted = (t: LabelStudioTask, result = t.predictions![0]!.result): LabelStudioTask => ({ ...t, annotations: [{ id: 1, completed_by: 7, result }] });
  const rect = (value: object, label = 'Nodule/Mass') => ({
    type: 'rectanglelabels' as const,
    from_name: 'label',
    to_name: 'image',
    original_width: image.width,
    original_height: image.height,
    value: { x: 10, y: 10, width: 10, height: 10, rectanglelabels: [label], ...value },
  });

  it('bad JSON / YAML / lines', async () => {
    await refused('coco', { 'instances.json': '{"images": [' }, /^instances\.json: not valid JSON/);
    await refused('labelstudio', { 'export.json': '[{"data": ' }, /^export\.json: not valid JSON/);
    await refused('labelstudio', { 'export.json': '{"tasks": []}' }, /^export\.json: expected a JSON array of tasks/);
    const stem = image.name.replace(/\.png$/, '');
    await refused(
      'yolo',
      { [`labels/train/${stem}.txt`]: '0 0.5 0.5 0.5 0.5\n0 0.5 0.5 0.1\n' },
      new RegExp(`^labels/train/${stem}\\.txt: line 2: expected 'class cx cy w h'`),
    );
    await refused('yolo', { 'data.yaml': 'names: [a\n', 'labels/a.txt': '' }, /^data\.yaml: not valid YAML/);
  });

  it('unknown classes', async () => {
    await refused(
      'coco',
      { 'c.json': JSON.stringify({ ...coco, categories: [...coco.categories.slice(1), { id: 1, name: 'Dog', supercategory: 'x' }] }) },
      /^c\.json: category 'Dog' is not one of the 14/,
    );
    const stem = image.name.replace(/\.png$/, '');
    await refused('yolo', { [`labels/${stem}.txt`]: '14 0.5 0.5 0.1 0.1\n' }, new RegExp(`^labels/${stem}\\.txt: line 1: class 14 is not 0…13`));
    await refused(
      'yolo',
      { 'data.yaml': 'names: {0: Dog}\n', [`labels/${stem}.txt`]: '0 0.5 0.5 0.1 0.1\n' },
      /line 1: class 0 \('Dog'\) is not one of the 14/,
    );
    await refused(
      'labelstudio',
      { 'e.json': JSON.stringify([submitted(tasks[0]!, [rect({}, 'Cat')])]) },
      /^e\.json: task 0 \(.*\): result 0: label 'Cat' is not one of the 14/,
    );
  });

  it('boxes outside the image', async () => {
    const a = coco.annotations.find((x) => x.image_id === coco.images[0]!.id) ?? {
      id: 99,
      image_id: coco.images[0]!.id,
      category_id: 1,
      area: 1,
      iscrowd: 0 as const,
      bbox: [0, 0, 1, 1],
    };
    const out = { ...a, bbox: [image.width - 5, 2, 10, 3] as [number, number, number, number] };
    await refused(
      'coco',
      { 'c.json': JSON.stringify({ ...coco, annotations: [out] }) },
      new RegExp(`^c\\.json: annotation ${a.id} \\(${image.name}\\): box \\[.*\\] lies outside the ${image.width}×${image.height} image`),
    );
    const stem = image.name.replace(/\.png$/, '');
    await refused('yolo', { [`labels/${stem}.txt`]: '3 0.95 0.5 0.2 0.1\n' }, /line 1: box \[.*\] lies outside/);
    await refused(
      'labelstudio',
      { 'e.json': JSON.stringify([submitted(tasks[0]!, [rect({ x: 95, width: 10 })])]) },
      /^e\.json: task 0 \(.*\): result 0: box .* lies outside/,
    );
  });

  it('images the base does not hold, a different image size, an image labelled twice, nothing submitted', async () => {
    await refused(
      'coco',
      { 'c.json': JSON.stringify({ ...coco, images: [{ ...coco.images[0]!, file_name: 'nope.png' }], annotations: [] }) },
      /^c\.json: image \d+ \(nope\.png\): image 'nope\.png' is not in the base/,
    );
    await refused('yolo', { 'labels/train/nope.txt': '' }, /^labels\/train\/nope\.txt: image 'nope' is not in the base/);
    await refused(
      'labelstudio',
      { 'e.json': JSON.stringify([submitted({ ...tasks[0]!, data: { image: '/x/nope.png', image_id: 'nope.png' } })]) },
      /^e\.json: task 0: image 'nope\.png' is not in the base/,
    );
    await refused(
      'coco',
      { 'c.json': JSON.stringify({ ...coco, images: [{ ...coco.images[0]!, width: image.width * 2 }], annotations: [] }) },
      /gives '.*' as \d+×\d+, the dataset's image is/,
    );
    await refused(
      'labelstudio',
      { 'e.json': JSON.stringify([submitted(tasks[0]!), submitted(tasks[0]!)]) },
      /^e\.json: task 1: image '.*' is labelled twice \(also by e\.json: task 0\)/,
    );
    await refused('labelstudio', { 'e.json': JSON.stringify(tasks) }, /nothing to import: no labelled image \(16 records without a submitted annotation\)/);
  });
});
