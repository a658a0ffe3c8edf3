// The public datasets' archive layouts that the synthetic archives reproduce, so the ETL's real
// adapters are exercised exactly as they would be on the downloaded files.
import type { SecondreadClass } from '../classes.js';

export const SYNTH_DATASETS = ['covid', 'tb', 'oct'] as const;
export type SynthDataset = (typeof SYNTH_DATASETS)[number];

export interface DatasetLayout {
  dataset: SynthDataset;
  /** The name of the archive as distributed. */
  archive: string;
  format: 'zip' | 'tar.gz';
  /** Image encoding of the original files. */
  encoding: 'png' | 'jpeg';
  /** secondread class -> the dataset's class folder name. */
  folders: Partial<Record<SecondreadClass, string>>;
  /** Entry path of the n-th (1-based) image of a class folder; OCT names also carry split and patient. */
  entry(folder: string, n: number, extra?: { split: 'train' | 'test'; patientId: string }): string;
}

export const LAYOUTS: Record<SynthDataset, DatasetLayout> = {
  // COVID-19 Radiography Database (Chowdhury et al., Rahman et al.; Kaggle).
  covid: {
    dataset: 'covid',
    archive: 'COVID-19_Radiography_Dataset.zip',
    format: 'zip',
    encoding: 'png',
    folders: {
      'lung-covid': 'COVID',
      'lung-normal': 'Normal',
      'lung-viral-pneumonia': 'Viral Pneumonia',
      'lung-opacity': 'Lung_Opacity',
    },
    entry: (folder, n) => `${folder}/images/${folder}-${n}.png`,
  },
  // Tuberculosis (TB) Chest X-ray Database (Rahman et al.; Kaggle).
  tb: {
    dataset: 'tb',
    archive: 'TB_Chest_Radiography_Database.zip',
    format: 'zip',
    encoding: 'png',
    folders: { 'lung-tuberculosis': 'Tuberculosis', 'lung-normal': 'Normal' },
    entry: (folder, n) => `TB_Chest_Radiography_Database/${folder}/${folder}-${n}.png`,
  },
  // Labeled OCT images, Kermany et al. 2018 (OCT2017): <CLASS>-<patientId>-<n>.jpeg per split.
  oct: {
    dataset: 'oct',
    archive: 'OCT2017.tar.gz',
    format: 'tar.gz',
    encoding: 'jpeg',
    folders: { 'oct-cnv': 'CNV', 'oct-dme': 'DME', 'oct-drusen': 'DRUSEN', 'oct-normal': 'NORMAL' },
    entry: (folder, n, extra) => {
      if (!extra) throw new RangeError('OCT entries need a split and a patient id');
      return `OCT2017/${extra.split}/${folder}/${folder}-${extra.patientId}-${n}.jpeg`;
    },
  },
};

export function isSynthDataset(value: string): value is SynthDataset {
  return (SYNTH_DATASETS as readonly string[]).includes(value);
}
