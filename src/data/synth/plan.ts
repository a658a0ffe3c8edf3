// What to generate, decided up front from the seed alone: every archive entry with its name, the
// class it is filed under, the class it actually shows (label noise), its OCT patient and split,
// and its own sub-seed. Rendering can then happen in any order on any worker.
import { Rng, subSeed } from '../../core/rng.js';
import { CLASS_MODALITY, SECONDREAD_CLASSES, type SecondreadClass } from '../classes.js';
import { LAYOUTS, SYNTH_DATASETS, type SynthDataset } from './layouts.js';

export interface PlannedImage {
  dataset: SynthDataset;
  /** Path inside the archive. */
  entry: string;
  /** The class whose folder the file is in (what the dataset claims). */
  filedClass: SecondreadClass;
  /** The class the image really shows; differs from filedClass for a flipped label. */
  shownClass: SecondreadClass;
  seed: number;
  patientId?: string;
  split?: 'train' | 'test';
}

export interface PlanOptions {
  perClass: number;
  seed: number;
  /** Probability that an image is filed under another class of its modality. */
  labelNoise: number;
  datasets: readonly SynthDataset[];
}

/** Share of lung-normal images that go to the COVID-19 database when the TB database is also made. */
export const COVID_NORMAL_SHARE = 2 / 3;
/** OCT patients: images per patient, test share, and how often a patient spans classes or splits. */
export const OCT_IMAGES_PER_PATIENT = { min: 1, max: 6 } as const;
export const OCT_TEST_SHARE = 0.15;
export const OCT_MULTI_CLASS_PATIENT_RATE = 0.08;
export const OCT_CROSS_SPLIT_PATIENT_RATE = 0.05;

/** How many images of each class each dataset files. */
export function filedCounts(opts: Pick<PlanOptions, 'perClass' | 'datasets'>): Record<SynthDataset, Partial<Record<SecondreadClass, number>>> {
  const both = opts.datasets.includes('covid') && opts.datasets.includes('tb');
  const covidNormal = both ? Math.round(opts.perClass * COVID_NORMAL_SHARE) : opts.perClass;
  const out = {} as Record<SynthDataset, Partial<Record<SecondreadClass, number>>>;
  for (const ds of SYNTH_DATASETS) {
    out[ds] = {};
    if (!opts.datasets.includes(ds)) continue;
    for (const cls of Object.keys(LAYOUTS[ds].folders) as SecondreadClass[]) {
      let n = opts.perClass;
      if (cls === 'lung-normal') n = ds === 'covid' ? covidNormal : both ? opts.perClass - covidNormal : opts.perClass;
      out[ds][cls] = n;
    }
  }
  return out;
}

/** The class an image shows: its filed class, or (label noise) another class of the same modality. */
function shownClassFor(filed: SecondreadClass, labelNoise: number, rng: Rng): SecondreadClass {
  if (!rng.chance(labelNoise)) return filed;
  const others = SECONDREAD_CLASSES.filter((c) => c !== filed && CLASS_MODALITY[c] === CLASS_MODALITY[filed]);
  return rng.pick(others);
}

function planFlat(ds: 'covid' | 'tb', counts: Partial<Record<SecondreadClass, number>>, opts: PlanOptions): PlannedImage[] {
  const layout = LAYOUTS[ds];
  const rng = new Rng(subSeed(opts.seed, 'plan', ds));
  const images: PlannedImage[] = [];
  for (const [cls, folder] of Object.entries(layout.folders) as Array<[SecondreadClass, string]>) {
    for (let n = 1; n <= (counts[cls] ?? 0); n++) {
      const entry = layout.entry(folder, n);
      images.push({ dataset: ds, entry, filedClass: cls, shownClass: shownClassFor(cls, opts.labelNoise, rng), seed: subSeed(opts.seed, 'image', ds, entry) });
    }
  }
  return images;
}

interface OctPatient {
  id: string;
  split: 'train' | 'test';
  /** Images so far (the <n> in the file name runs over all of a patient's images). */
  count: number;
  classes: Set<SecondreadClass>;
}

/**
 * Every class folder gets images in both train/ and test/ when it has two or more: with few
 * patients a random split can put them all on one side, which would leave a split without a class.
 */
function ensureBothSplits(groups: Array<{ splits: Array<'train' | 'test'> }>): void {
  const total = groups.reduce((n, g) => n + g.splits.length, 0);
  if (total < 2) return;
  for (const side of ['test', 'train'] as const) {
    if (groups.some((g) => g.splits.includes(side))) continue;
    const other = side === 'test' ? 'train' : 'test';
    if (groups.length > 1) {
      const g = (side === 'test' ? groups[groups.length - 1] : groups[0]) as { splits: Array<'train' | 'test'> };
      g.splits = g.splits.map(() => side);
    } else {
      const g = groups[0] as { splits: Array<'train' | 'test'> };
      g.splits = g.splits.map((_, j) => (j < g.splits.length / 2 ? other : side));
    }
  }
}

function planOct(counts: Partial<Record<SecondreadClass, number>>, opts: PlanOptions): PlannedImage[] {
  const layout = LAYOUTS.oct;
  const rng = new Rng(subSeed(opts.seed, 'plan', 'oct'));
  const patients: OctPatient[] = [];
  const usedIds = new Set<string>();
  const newPatient = (): OctPatient => {
    let id: string;
    do id = String(rng.int(100000, 9999999));
    while (usedIds.has(id));
    usedIds.add(id);
    const p: OctPatient = { id, split: rng.chance(OCT_TEST_SHARE) ? 'test' : 'train', count: 0, classes: new Set() };
    patients.push(p);
    return p;
  };
  const images: PlannedImage[] = [];
  for (const [cls, folder] of Object.entries(layout.folders) as Array<[SecondreadClass, string]>) {
    const groups: Array<{ patient: OctPatient; splits: Array<'train' | 'test'> }> = [];
    let remaining = counts[cls] ?? 0;
    while (remaining > 0) {
      const k = Math.min(remaining, rng.int(OCT_IMAGES_PER_PATIENT.min, OCT_IMAGES_PER_PATIENT.max));
      const others = patients.filter((p) => !p.classes.has(cls));
      // As in the original, some patients have scans filed under two classes (e.g. the other eye).
      const patient = others.length > 0 && rng.chance(OCT_MULTI_CLASS_PATIENT_RATE) ? rng.pick(others) : newPatient();
      patient.classes.add(cls);
      const crossSplit = k >= 2 && rng.chance(OCT_CROSS_SPLIT_PATIENT_RATE);
      const splits = Array.from({ length: k }, (_, j) => (crossSplit ? (j < k / 2 ? 'train' : 'test') : patient.split));
      groups.push({ patient, splits });
      remaining -= k;
    }
    ensureBothSplits(groups);
    for (const { patient, splits } of groups) {
      for (const split of splits) {
        patient.count += 1;
        const entry = layout.entry(folder, patient.count, { split, patientId: patient.id });
        images.push({
          dataset: 'oct',
          entry,
          filedClass: cls,
          shownClass: shownClassFor(cls, opts.labelNoise, rng),
          seed: subSeed(opts.seed, 'image', 'oct', entry),
          patientId: patient.id,
          split,
        });
      }
    }
  }
  // Archive order: train before test, then class folder, then patient and image number.
  const folderRank = new Map(Object.values(layout.folders).map((f, i) => [f, i]));
  const key = (im: PlannedImage) => {
    const folder = layout.folders[im.filedClass] ?? '';
    const n = Number(im.entry.slice(im.entry.lastIndexOf('-') + 1, -'.jpeg'.length));
    return [im.split === 'test' ? 1 : 0, folderRank.get(folder) ?? 0, Number(im.patientId), n];
  };
  return images.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return (ka[i] as number) - (kb[i] as number);
    return 0;
  });
}

/** The full plan: for each selected dataset, its images in archive order. */
export function planSynthesis(opts: PlanOptions): Partial<Record<SynthDataset, PlannedImage[]>> {
  const counts = filedCounts(opts);
  const plan: Partial<Record<SynthDataset, PlannedImage[]>> = {};
  for (const ds of SYNTH_DATASETS) {
    if (!opts.datasets.includes(ds)) continue;
    plan[ds] = ds === 'oct' ? planOct(counts.oct, opts) : planFlat(ds, counts[ds], opts);
  }
  return plan;
}
