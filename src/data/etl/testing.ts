// Test fixtures: tiny archives in the three real datasets' layouts (COVID-19 Radiography zip with a top
// folder, masks and a spreadsheet; TB zip; OCT2017 tar.gz with train/ and test/), each image unique
// and deterministic, plus an in-memory DB and a filesystem object store. Built with sharp, yazl and
// tar-stream so ETL tests need nothing from the synthetic-phantom generator. Also the two DICOM sets
// labelled by sheets (RSNA Pneumonia, VinDr-CXR) in miniature, with small DICOMs from data/dicom's writer.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { type Db, migrateToLatest, openDatabase } from '../../storage/db.js';
import { FsObjectStore } from '../../storage/fs-object-store.js';
import { type TestTarEntry, type TestZipEntry, writeTestTarGz, writeTestZip } from '../archive/testing.js';
import { cxrDicom } from '../dicom/testing.js';
import type { PixelImage, WritableSyntax } from '../dicom/write.js';
import { grayPng, rgbJpeg } from '../images/testing.js';

export const CXR_FOLDERS = ['COVID', 'Normal', 'Viral Pneumonia', 'Lung_Opacity'] as const;
export const TB_FOLDERS = ['Tuberculosis', 'Normal'] as const;
export const OCT_FOLDERS = ['CNV', 'DME', 'DRUSEN', 'NORMAL'] as const;

let counter = 0;
/** A unique 16×16 image: a gradient plus a 16-bit serial number written into the first pixels. */
export async function uniquePng(seed = ++counter): Promise<Buffer> {
  return grayPng(16, 16, (x, y) => (y === 0 && x < 16 ? ((seed >> x) & 1) * 255 : (x * 9 + y * 5 + seed) % 200));
}

export async function uniqueJpeg(seed = ++counter): Promise<Buffer> {
  return rgbJpeg(24, 16, (x, y) => (y < 2 ? ((seed >> (x % 16)) & 1) * 255 : (x * 5 + y * 7 + seed) % 200));
}

/** The COVID-19 Radiography Database layout, as downloaded (top folder, masks, sheets). */
export async function covidEntries(perClass: number): Promise<TestZipEntry[]> {
  const top = 'COVID-19_Radiography_Dataset';
  const entries: TestZipEntry[] = [{ name: `${top}/README.md.txt`, data: 'readme' }];
  for (const c of CXR_FOLDERS) {
    entries.push({ name: `${top}/${c}.metadata.xlsx`, data: 'sheet' });
    for (let i = 1; i <= perClass; i++) {
      entries.push({ name: `${top}/${c}/images/${c}-${i}.png`, data: await uniquePng() });
      entries.push({ name: `${top}/${c}/masks/${c}-${i}.png`, data: await uniquePng() });
    }
  }
  return entries;
}

export async function tbEntries(perClass: number): Promise<TestZipEntry[]> {
  const entries: TestZipEntry[] = [];
  for (const c of TB_FOLDERS)
    for (let i = 1; i <= perClass; i++) entries.push({ name: `TB_Chest_Radiography_Database/${c}/${c}-${i}.png`, data: await uniquePng() });
  return entries;
}

/** OCT2017: `patients` patients per class, `scans` scans each, alternately under train/ and test/. */
export async function octEntries(patients: number, scans: number, firstPatient = 1000): Promise<TestTarEntry[]> {
  const entries: TestTarEntry[] = [];
  for (const [ci, c] of OCT_FOLDERS.entries()) {
    for (let p = 0; p < patients; p++) {
      const pid = firstPatient + ci * 1000 + p;
      for (let k = 1; k <= scans; k++) entries.push({ name: `OCT2017/${k % 2 ? 'train' : 'test'}/${c}/${c}-${pid}-${k}.jpeg`, data: await uniqueJpeg() });
    }
  }
  return entries;
}

export interface Fixture {
  dir: string;
  db: Db;
  objects: FsObjectStore;
  cleanup(): Promise<void>;
}

/** A temp folder with an object store and a migrated SQLite DB inside it. */
export async function openFixture(prefix = 'sr-etl-'): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const db = openDatabase({ sqlitePath: join(dir, 'secondread.db') });
  await migrateToLatest(db);
  const objects = new FsObjectStore(join(dir, 'objects'));
  return {
    dir,
    db,
    objects,
    cleanup: async () => {
      await db.destroy();
      await objects.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes the three seed archives (small) into `dir` under their real file names. */
export async function writeSeedArchives(dir: string, sizes = { cxrPerClass: 10, tbPerClass: 10, octPatients: 4, octScans: 3 }): Promise<void> {
  await writeTestZip(join(dir, 'COVID-19_Radiography_Dataset.zip'), await covidEntries(sizes.cxrPerClass));
  await writeTestZip(join(dir, 'TB_Chest_Radiography_Database.zip'), await tbEntries(sizes.tbPerClass));
  await writeTestTarGz(join(dir, 'OCT2017.tar.gz'), await octEntries(sizes.octPatients, sizes.octScans));
}

/** A unique small 16-bit CXR DICOM: a ramp offset by `seed`, the seed's bits in the first row. */
export async function uniqueCxrDicom(seed: number, extra: Record<string, unknown> = {}, syntax: WritableSyntax = 'explicit-le', size = 32): Promise<Buffer> {
  const pixels = new Uint16Array(size * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = i < 16 ? ((seed >> i) & 1) * 4000 : (i * 37 + seed * 101) % 4096;
  const image: PixelImage = { width: size, height: size, bitsAllocated: 16, bitsStored: 12, signed: false, samplesPerPixel: 1, pixels };
  return Buffer.from(await cxrDicom(image, syntax, extra));
}

export interface LabelledFixtureFile {
  name: string;
  data: Buffer | string;
}

/**
 * The RSNA Pneumonia Detection Challenge download in miniature (stage_2_* sheets, train and test image
 * folders, the credits note): `opacity` patients with Target=1 and one or two boxes, `normal` with
 * 'Normal', `notNormal` with 'No Lung Opacity / Not Normal'; plus one patient whose two sheets disagree,
 * one train image the sheets do not name and one sheet row without an image. DICOM Patient ID =
 * patientId, as in the real files. Images are 32×32.
 */
export async function rsnaFiles(n = { opacity: 4, normal: 4, notNormal: 2 }): Promise<{ files: LabelledFixtureFile[]; ids: Record<string, string[]> }> {
  const files: LabelledFixtureFile[] = [];
  const labels = ['patientId,x,y,width,height,Target'];
  const info = ['patientId,class'];
  const ids: Record<string, string[]> = { opacity: [], normal: [], notNormal: [], conflict: [], unlabelled: [], missing: [] };
  let seed = 5000;
  const image = async (id: string, folder = 'stage_2_train_images') =>
    files.push({ name: `${folder}/${id}.dcm`, data: await uniqueCxrDicom(++seed, { PatientID: id }, seed % 2 ? 'rle' : 'explicit-le') });
  const id = (kind: string, i: number) => `${kind.slice(0, 4)}${String(i).padStart(4, '0')}-6c3e-4d1a-b0c0-${String(seed).padStart(12, '0')}`;
  for (let i = 0; i < n.opacity; i++) {
    const p = id('opac', i);
    ids.opacity!.push(p);
    const boxes =
      i % 2
        ? [[2, 3, 10, 12]]
        : [
            [1, 1, 8, 8],
            [16, 10, 12, 14],
          ];
    for (const [x, y, w, h] of boxes) {
      labels.push(`${p},${x},${y},${w},${h},1`);
      info.push(`${p},Lung Opacity`);
    }
    await image(p);
  }
  for (const [kind, cls] of [
    ['normal', 'Normal'],
    ['notNormal', 'No Lung Opacity / Not Normal'],
  ] as const) {
    for (let i = 0; i < n[kind]; i++) {
      const p = id(kind, i);
      ids[kind]!.push(p);
      labels.push(`${p},,,,,0`);
      info.push(`${p},${cls}`);
      await image(p);
    }
  }
  const conflict = id('conf', 0);
  ids.conflict!.push(conflict);
  labels.push(`${conflict},4,4,6,6,1`);
  info.push(`${conflict},Normal`);
  await image(conflict);
  const unlabelled = id('unla', 0);
  ids.unlabelled!.push(unlabelled);
  await image(unlabelled);
  const missing = id('miss', 0);
  ids.missing!.push(missing);
  labels.push(`${missing},,,,,0`);
  info.push(`${missing},Normal`);
  await image(id('test', 0), 'stage_2_test_images');
  files.push({ name: 'stage_2_train_labels.csv', data: `${labels.join('\n')}\n` });
  files.push({ name: 'stage_2_detailed_class_info.csv', data: `${info.join('\r\n')}\r\n` });
  files.push({ name: 'stage_2_sample_submission.csv', data: 'patientId,PredictionString\n' });
  files.push({ name: 'GCP Credits Request Link - RSNA.txt', data: 'https://example.invalid\n' });
  return { files, ids };
}

/**
 * VinDr-CXR in miniature: annotations/annotations_train.csv (image_id,class_name,class_id,rad_id,x_min,
 * y_min,x_max,y_max; three radiologists per image) and train/<image_id>.dicom. Image kinds: `normal`
 * (all three say No finding), `opacity` (two box Lung Opacity, one says No finding), `cardio`
 * (Cardiomegaly only), `split` (two say No finding, one boxes Nodule/Mass). Patient ID is empty, as in
 * the published files, except `samePatient` pairs that share one (to prove the patient-grouped split).
 */
export async function vindrFiles(
  n = { normal: 4, opacity: 4, cardio: 1, split: 1, samePatient: 2 },
): Promise<{ files: LabelledFixtureFile[]; ids: Record<string, string[]> }> {
  const files: LabelledFixtureFile[] = [];
  const rows = ['image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max'];
  const ids: Record<string, string[]> = { normal: [], opacity: [], cardio: [], split: [], samePatient: [] };
  let seed = 9000;
  const add = async (kind: string, patientId = '') => {
    const id = `${(++seed * 2654435761).toString(16).padStart(12, '0').slice(-12)}${kind.padEnd(8, 'x').slice(0, 8)}${String(seed).padStart(12, '0')}`;
    ids[kind]!.push(id);
    files.push({ name: `train/${id}.dicom`, data: await uniqueCxrDicom(seed, { PatientID: patientId }, seed % 3 ? 'explicit-le' : 'deflated') });
    return id;
  };
  const nf = (id: string, r: string) => rows.push(`${id},No finding,14,${r},,,,`);
  for (let i = 0; i < n.normal; i++) {
    const id = await add('normal');
    for (const r of ['R1', 'R2', 'R3']) nf(id, r);
  }
  for (let i = 0; i < n.opacity; i++) {
    const id = await add('opacity');
    rows.push(`${id},Lung Opacity,7,R4,2.5,3,14,15.75`, `${id},Lung Opacity,7,R5,3,4,15,16`);
    nf(id, 'R6');
  }
  for (let i = 0; i < n.cardio; i++) {
    const id = await add('cardio');
    for (const r of ['R1', 'R2', 'R3']) rows.push(`${id},Cardiomegaly,3,${r},8,20,26,30`);
  }
  for (let i = 0; i < n.split; i++) {
    const id = await add('split');
    nf(id, 'R1');
    nf(id, 'R2');
    rows.push(`${id},Nodule/Mass,8,R3,10,10,14,14`);
  }
  for (let i = 0; i < n.samePatient; i++) {
    for (const k of [0, 1]) {
      const id = await add('samePatient', `VINDR-PATIENT-${i}`);
      for (const r of ['R1', 'R2', 'R3']) rows.push(k ? `${id},Lung Opacity,7,${r},0,0,40,40` : `${id},No finding,14,${r},,,,`);
    }
  }
  files.push({ name: 'annotations/annotations_train.csv', data: `${rows.join('\n')}\n` });
  files.push({ name: 'test/00000000000000000000000000000000.dicom', data: await uniqueCxrDicom(++seed) });
  return { files, ids };
}

/** Writes fixture files into a folder (the unpacked-download form of a source). */
export async function writeFolder(dir: string, files: readonly LabelledFixtureFile[]): Promise<void> {
  for (const f of files) {
    await mkdir(dirname(join(dir, f.name)), { recursive: true });
    await writeFile(join(dir, f.name), f.data);
  }
}
