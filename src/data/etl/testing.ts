// Test fixtures: tiny archives in the three real datasets' layouts (COVID-19 Radiography zip with a top
// folder, masks and a spreadsheet; TB zip; OCT2017 tar.gz with train/ and test/), each image unique
// and deterministic, plus an in-memory DB and a filesystem object store. Built with sharp, yazl and
// tar-stream so ETL tests need nothing from the synthetic-phantom generator.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Db, migrateToLatest, openDatabase } from '../../storage/db.js';
import { FsObjectStore } from '../../storage/fs-object-store.js';
import { type TestTarEntry, type TestZipEntry, writeTestTarGz, writeTestZip } from '../archive/testing.js';
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
