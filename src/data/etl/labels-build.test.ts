// `data build` on the DICOM sets labelled by sheets, in their real layouts: RSNA Pneumonia as the
// Kaggle zip, VinDr-CXR as an unpacked folder. Classes come from the sheets by the documented rules,
// what is left out is counted with its reason, boxes survive into annotations.jsonl, the usual rules
// hold (de-identified instances only, patient-grouped split, immutable ids), and a folder reads like an archive.
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { UnsafeArchiveError, ValidationError } from '../../core/errors.js';
import { writeTestZip } from '../archive/testing.js';
import { listImages } from '../datasets/repository.js';
import { parseDicom } from '../dicom/parse.js';
import { buildDataset, computeVersionId } from './build.js';
import { loadDatasetConfig, parseDatasetConfig } from './config.js';
import { annotationsKey } from './naming.js';
import { type Fixture, openFixture, rsnaFiles, vindrFiles, writeFolder } from './testing.js';

const KEY = Buffer.alloc(32, 7);
const EXAMPLE = resolve(import.meta.dirname, '../../../examples/datasets-rsna-vindr.yaml');
let fx: Fixture;
beforeEach(async () => {
  fx = await openFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

const rsnaSource = {
  dataset: 'rsna-pneumonia',
  archive: 'rsna-pneumonia-detection-challenge.zip',
  format: 'zip',
  labels: {
    layout: 'rsna',
    images: '**/stage_2_train_images/*.dcm',
    csv: '**/stage_2_train_labels.csv',
    class_info: '**/stage_2_detailed_class_info.csv',
  },
  classes: [
    { source: 'Lung Opacity', class: 'lung-opacity' },
    { source: 'Normal', class: 'lung-normal' },
  ],
};

const vindrSource = {
  dataset: 'vindr-cxr',
  archive: 'vindr-cxr',
  format: 'dir',
  labels: { layout: 'vindr', images: 'train/*.dicom', csv: '**/annotations_train.csv' },
  classes: [
    { source: 'Lung Opacity', class: 'lung-opacity' },
    { source: 'Consolidation', class: 'lung-opacity' },
    { source: 'No finding', class: 'lung-normal' },
  ],
};

interface Annotation {
  object_key: string;
  sha256: string;
  width: number;
  height: number;
  source_labels: string[];
  boxes: { label: string; reader: string | null; box: number[] }[];
}

async function readAnnotations(version: string): Promise<Annotation[]> {
  const text = (await fx.objects.getBytes(annotationsKey(version))).toString('utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Annotation);
}

describe('data build: RSNA Pneumonia (zip with labels sheets)', () => {
  it('classes from the sheets, exclusions counted with reasons, boxes kept, de-identified instances only', async () => {
    const { files, ids } = await rsnaFiles();
    await writeTestZip(join(fx.dir, rsnaSource.archive), files);
    const config = parseDatasetConfig({ sources: [rsnaSource] }, fx.dir);
    const r = await buildDataset({ db: fx.db, objects: fx.objects, config, dicom: { key: KEY } });

    expect(r.report.images).toBe(8);
    const counts = (cls: 'lung-opacity' | 'lung-normal') => r.report.counts.train[cls] + r.report.counts.val[cls] + r.report.counts.test[cls];
    expect([counts('lung-opacity'), counts('lung-normal')]).toEqual([4, 4]);
    const labels = r.report.labels![0]!;
    expect(labels).toMatchObject({ dataset: 'rsna-pneumonia', layout: 'rsna', labelledIds: 12, selected: 8, unlabelledFiles: 1, missingFiles: 1, boxes: 6 });
    expect(labels.excluded.count).toBe(3);
    expect(labels.excluded.reasons).toEqual([
      { reason: "no class rule for 'No Lung Opacity / Not Normal'", count: 2 },
      { reason: expect.stringMatching(/^labels disagree: .*Target=1 .*'Normal'/) as unknown as string, count: 1 },
    ]);

    const images = await listImages(fx.db, r.versionId);
    expect(images.every((i) => i.format === 'dicom' && /^[0-9a-f]{24}$/.test(i.patientKey ?? ''))).toBe(true);
    expect(new Set(images.map((i) => i.sourceClass))).toEqual(new Set(['Lung Opacity', 'Normal']));
    const byEntry = new Map(images.map((i) => [i.entryPath, i]));
    for (const id of ids.opacity!) expect(byEntry.get(`stage_2_train_images/${id}.dcm`)?.class).toBe('lung-opacity');
    for (const id of ids.normal!) expect(byEntry.get(`stage_2_train_images/${id}.dcm`)?.class).toBe('lung-normal');
    for (const img of images) expect(parseDicom(await fx.objects.getBytes(img.objectKey)).dataset.PatientIdentityRemoved).toBe('YES');

    const ann = await readAnnotations(r.versionId);
    expect(ann.map((a) => a.object_key)).toEqual(images.map((i) => i.objectKey)); // manifest order, every image
    const first = ann.find((a) => a.object_key === byEntry.get(`stage_2_train_images/${ids.opacity![0]}.dcm`)!.objectKey)!;
    // x,y,width,height → x0,y0,x1,y1 in the image's pixels.
    expect(first.boxes).toEqual([
      { label: 'Lung Opacity', reader: null, box: [1, 1, 9, 9] },
      { label: 'Lung Opacity', reader: null, box: [16, 10, 28, 24] },
    ]);
    expect(first).toMatchObject({ width: 32, height: 32, source_labels: ['Lung Opacity'] });
    const normal = ann.find((a) => a.object_key === byEntry.get(`stage_2_train_images/${ids.normal![0]}.dcm`)!.objectKey)!;
    expect(normal.boxes).toEqual([]);
  });

  it('the same zip builds to the same id (a no-op); another class map is another version', async () => {
    const { files } = await rsnaFiles({ opacity: 2, normal: 2, notNormal: 1 });
    await writeTestZip(join(fx.dir, rsnaSource.archive), files);
    const config = parseDatasetConfig({ sources: [rsnaSource] }, fx.dir);
    const a = await buildDataset({ db: fx.db, objects: fx.objects, config, dicom: { key: KEY } });
    const b = await buildDataset({ db: fx.db, objects: fx.objects, config, dicom: { key: KEY } });
    expect([b.versionId, b.built]).toEqual([a.versionId, false]);
    const other = parseDatasetConfig(
      { sources: [{ ...rsnaSource, classes: [...rsnaSource.classes, { source: 'No Lung Opacity / Not Normal', class: 'lung-normal' }] }] },
      fx.dir,
    );
    const c = await buildDataset({ db: fx.db, objects: fx.objects, config: other, dicom: { key: KEY } });
    expect(c.versionId).not.toBe(a.versionId);
    expect(c.report.images).toBe(a.report.images + 1);
  });

  it('a missing or doubled sheet, a wrong column and an images pattern matching nothing are clear errors', async () => {
    const { files } = await rsnaFiles({ opacity: 1, normal: 1, notNormal: 0 });
    const zip = join(fx.dir, rsnaSource.archive);
    const build = (source: object) =>
      buildDataset({ db: fx.db, objects: fx.objects, config: parseDatasetConfig({ sources: [source] }, fx.dir), dicom: { key: KEY } });

    await writeTestZip(zip, [...files, { name: 'copy/stage_2_train_labels.csv', data: 'patientId,x,y,width,height,Target\n' }]);
    await expect(build(rsnaSource)).rejects.toThrow(/2 entries .* matched the labels sheet pattern/);

    await writeTestZip(zip, files);
    await expect(build({ ...rsnaSource, labels: { ...rsnaSource.labels, csv: '**/nope.csv' } })).rejects.toThrow(/no entry matched the labels sheet pattern/);
    await expect(build({ ...rsnaSource, labels: { ...rsnaSource.labels, images: '**/stage_2_test_images/*.dcm' } })).rejects.toThrow(
      /no image file got a class from the labels sheet .*1 files the sheet does not name/,
    );
    await expect(build({ ...rsnaSource, labels: { ...rsnaSource.labels, class_info: '**/stage_2_sample_submission.csv' } })).rejects.toThrow(
      /missing column class/,
    );
  });
});

describe('data build: VinDr-CXR (folder with annotations_train.csv)', () => {
  it('No finding only when every reader says so; boxes per reader; images without Patient ID are their own group', async () => {
    const { files, ids } = await vindrFiles();
    const dir = join(fx.dir, 'vindr-cxr');
    await writeFolder(dir, files);
    const config = parseDatasetConfig({ sources: [vindrSource] }, fx.dir);
    const r = await buildDataset({ db: fx.db, objects: fx.objects, config, dicom: { key: KEY } });

    expect(r.report.images).toBe(4 + 4 + 4);
    const labels = r.report.labels![0]!;
    expect(labels).toMatchObject({ selected: 12, unlabelledFiles: 0, missingFiles: 0 });
    expect(labels.excluded.reasons).toEqual([
      { reason: "no class rule for 'Cardiomegaly'", count: 1 },
      { reason: "no class rule for 'Nodule/Mass'", count: 1 },
    ]);
    const images = await listImages(fx.db, r.versionId);
    const byId = new Map(images.map((i) => [i.entryPath.slice('train/'.length, -'.dicom'.length), i]));
    for (const id of ids.normal!) expect(byId.get(id)).toMatchObject({ class: 'lung-normal', sourceClass: 'No finding', patientKey: null });
    for (const id of ids.opacity!) expect(byId.get(id)).toMatchObject({ class: 'lung-opacity', sourceClass: 'Lung Opacity', patientKey: null });
    // Two images of one patient (same Patient ID, different image ids and classes) share a split.
    const [p, q] = ids.samePatient!.slice(0, 2).map((id) => byId.get(id)!);
    expect(p!.patientKey).toMatch(/^[0-9a-f]{24}$/);
    expect([q!.patientKey, q!.split]).toEqual([p!.patientKey, p!.split]);
    expect([p!.class, q!.class]).toEqual(['lung-normal', 'lung-opacity']);

    const ann = await readAnnotations(r.versionId);
    const opacity = ann.find((a) => a.object_key === byId.get(ids.opacity![0]!)!.objectKey)!;
    expect(opacity.source_labels).toEqual(['Lung Opacity', 'No finding']);
    expect(opacity.boxes).toEqual([
      { label: 'Lung Opacity', reader: 'R4', box: [2.5, 3, 14, 15.75] },
      { label: 'Lung Opacity', reader: 'R5', box: [3, 4, 15, 16] },
    ]);
    // The samePatient opacity boxes (0,0)–(40,40) reach past the 32×32 image: kept as given, counted.
    expect(labels.boxesOutsideImage).toBe(3 * (ids.samePatient!.length / 2));
    expect(labels.boxes).toBe(4 * 2 + 3 * (ids.samePatient!.length / 2));
  });

  it('a folder has a content id: same files → same id, one changed file → another id; links are refused', async () => {
    const { files } = await vindrFiles({ normal: 2, opacity: 2, cardio: 0, split: 0, samePatient: 0 });
    const dir = join(fx.dir, 'vindr-cxr');
    await writeFolder(dir, files);
    const config = parseDatasetConfig({ sources: [vindrSource] }, fx.dir);
    const a = await computeVersionId(config);
    expect((await computeVersionId(config)).id).toBe(a.id);
    await writeFile(join(dir, '.DS_Store'), 'x');
    const excluded = parseDatasetConfig({ sources: [{ ...vindrSource, exclude: ['**/.DS_Store'] }] }, fx.dir);
    expect((await computeVersionId(excluded)).sha256).toEqual(a.sha256); // excluded files are not part of the content
    await rm(join(dir, '.DS_Store'));
    await writeFile(
      join(dir, 'annotations/annotations_train.csv'),
      `${files.find((f) => f.name.endsWith('.csv'))!.data as string}extra,No finding,14,R1,,,,\n`,
    );
    expect((await computeVersionId(config)).id).not.toBe(a.id);

    const { symlink } = await import('node:fs/promises');
    await symlink('/etc/hostname', join(dir, 'train', 'link.dicom'));
    await expect(buildDataset({ db: fx.db, objects: fx.objects, config, dicom: { key: KEY } })).rejects.toBeInstanceOf(UnsafeArchiveError);
  });

  it('config: a class rule with a glob beside labels, class_info outside rsna, and format/archive kind mismatches are refused', () => {
    expect(() =>
      parseDatasetConfig({ sources: [{ ...vindrSource, classes: [{ source: 'No finding', class: 'lung-normal', glob: '*' }] }] }, fx.dir, {
        checkArchives: false,
      }),
    ).toThrow(/sources\.0\.classes\.0: with labels, a class rule maps a label/);
    expect(() =>
      parseDatasetConfig({ sources: [{ ...vindrSource, labels: { ...vindrSource.labels, class_info: 'x.csv' } }] }, fx.dir, { checkArchives: false }),
    ).toThrow(/class_info is read for the rsna layout only/);
    expect(() =>
      parseDatasetConfig({ sources: [{ ...vindrSource, classes: [...vindrSource.classes, { source: 'No finding', class: 'lung-opacity' }] }] }, fx.dir, {
        checkArchives: false,
      }),
    ).toThrow(/label 'No finding' is mapped twice/);
    expect(() =>
      parseDatasetConfig({ sources: [{ ...rsnaSource, classes: [{ source: 'x', class: 'lung-normal' }], labels: undefined }] }, fx.dir, {
        checkArchives: false,
      }),
    ).toThrow(/give exactly one of glob or regex/);
  });

  it('format dir on a file, or a zip format on a folder, is a config error', async () => {
    await writeFolder(join(fx.dir, 'vindr-cxr'), [{ name: 'a.txt', data: 'a' }]);
    await writeFile(join(fx.dir, 'v.zip'), 'x');
    expect(() => parseDatasetConfig({ sources: [{ ...vindrSource, format: 'zip' }] }, fx.dir)).toThrow(ValidationError);
    expect(() => parseDatasetConfig({ sources: [{ ...vindrSource, archive: 'v.zip' }] }, fx.dir)).toThrow(/is a file, not a folder/);
  });
});

describe('examples/datasets-rsna-vindr.yaml', () => {
  it('builds both sets, in their download layouts, into one version', async () => {
    const rsna = await rsnaFiles({ opacity: 2, normal: 2, notNormal: 1 });
    await writeTestZip(join(fx.dir, 'rsna-pneumonia-detection-challenge.zip'), rsna.files);
    const vindr = await vindrFiles({ normal: 2, opacity: 2, cardio: 1, split: 0, samePatient: 0 });
    await writeFolder(join(fx.dir, 'vindr-cxr'), vindr.files);
    const config = loadDatasetConfig(EXAMPLE, { rawDir: fx.dir });
    const r = await buildDataset({ db: fx.db, objects: fx.objects, config, dicom: { key: KEY } });
    expect(r.report.labels!.map((l) => [l.dataset, l.selected, l.excluded.count])).toEqual([
      ['rsna-pneumonia', 4, 2],
      ['vindr-cxr', 4, 1],
    ]);
    const images = await listImages(fx.db, r.versionId);
    expect(images.filter((i) => i.class === 'lung-opacity')).toHaveLength(4);
    expect(images.filter((i) => i.class === 'lung-normal')).toHaveLength(4);
    expect((await readAnnotations(r.versionId)).length).toBe(8);
  });
});
