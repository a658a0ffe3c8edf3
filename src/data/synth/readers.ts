// Simulated radiologists for the detector's phantoms: each image is boxed independently by three
// readers drawn from a panel (VinDr-CXR had 17), as VinDr-CXR's training set was. A reader misses a
// finding more often when it is subtle or of a hard class, draws its box with some jitter, sometimes
// names a neighbouring class (opacity vs infiltration vs consolidation, ILD vs fibrosis, effusion vs
// thickening, nodule vs other lesion vs calcification) and now and then boxes something that is not
// there. Each reader's habits are fixed by its id, so R7 is the same reader on every image.
import { Rng, subSeed } from '../../core/rng.js';
import { DETECTION_CLASSES, type DetectionClass, NO_FINDING, NO_FINDING_CLASS_ID } from '../classes.js';
import type { ReaderAnnotationRow } from '../detection/types.js';
import type { TrueFinding } from './cxr-detect.js';

export const READER_PANEL = Array.from({ length: 17 }, (_, i) => `R${i + 1}`);
export const READERS_PER_IMAGE = 3;

/** How much more often than average a class is missed (subtle, small or easily overlooked findings). */
const MISS_FACTOR: Record<DetectionClass, number> = {
  'Aortic enlargement': 0.9,
  Atelectasis: 1.2,
  Calcification: 1.6,
  Cardiomegaly: 0.5,
  Consolidation: 1,
  ILD: 1.2,
  Infiltration: 1.3,
  'Lung Opacity': 1.1,
  'Nodule/Mass': 1.3,
  'Other lesion': 1.5,
  'Pleural effusion': 0.7,
  'Pleural thickening': 1.5,
  Pneumothorax: 0.8,
  'Pulmonary fibrosis': 1.3,
};

const CONFUSABLE: readonly (readonly DetectionClass[])[] = [
  ['Lung Opacity', 'Infiltration', 'Consolidation'],
  ['ILD', 'Pulmonary fibrosis'],
  ['Pleural effusion', 'Pleural thickening'],
  ['Nodule/Mass', 'Other lesion', 'Calcification'],
];

interface ReaderHabits {
  miss: number;
  /** Standard deviation of each box edge, as a fraction of the box's side. */
  jitter: number;
  falsePositive: number;
  confusion: number;
}

export function readerHabits(seed: number, reader: string): ReaderHabits {
  const rng = new Rng(subSeed(seed, 'reader', reader));
  return { miss: rng.uniform(0.05, 0.2), jitter: rng.uniform(0.04, 0.1), falsePositive: rng.uniform(0.02, 0.08), confusion: rng.uniform(0.03, 0.12) };
}

function confuse(cls: DetectionClass, rng: Rng): DetectionClass {
  const group = CONFUSABLE.find((g) => g.includes(cls));
  if (!group) return cls;
  const others = group.filter((c) => c !== cls);
  return rng.pick(others);
}

export interface ReaderImage {
  imageId: string;
  width: number;
  height: number;
  findings: readonly TrueFinding[];
}

/** The annotation rows of one image: three readers, their boxes, or a 'No finding' row each. */
export function readImage(image: ReaderImage, seed: number, rng: Rng): ReaderAnnotationRow[] {
  const panel = [...READER_PANEL];
  const readers: string[] = [];
  while (readers.length < READERS_PER_IMAGE) readers.push(panel.splice(rng.int(0, panel.length - 1), 1)[0]!);
  const rows: ReaderAnnotationRow[] = [];
  const { width: W, height: H } = image;
  for (const reader of readers) {
    const habits = readerHabits(seed, reader);
    const boxes: Omit<ReaderAnnotationRow, 'imageId' | 'radId'>[] = [];
    const add = (cls: DetectionClass, x0: number, y0: number, x1: number, y1: number) => {
      const r = (v: number) => Math.round(v * 10) / 10;
      const [a, b, c, d] = [r(Math.max(0, x0)), r(Math.max(0, y0)), r(Math.min(W, x1)), r(Math.min(H, y1))];
      if (c - a >= 1 && d - b >= 1) boxes.push({ className: cls, classId: DETECTION_CLASSES.indexOf(cls), xMin: a, yMin: b, xMax: c, yMax: d });
    };
    for (const f of image.findings) {
      const cls = DETECTION_CLASSES[f.classId]!;
      const miss = Math.min(0.9, habits.miss * MISS_FACTOR[cls] + 0.35 * (1 - f.severity) ** 2);
      if (rng.chance(miss)) continue;
      const w = f.x1 - f.x0;
      const h = f.y1 - f.y0;
      const j = habits.jitter;
      add(
        rng.chance(habits.confusion) ? confuse(cls, rng) : cls,
        f.x0 + rng.normal(0, j * w),
        f.y0 + rng.normal(0, j * h),
        f.x1 + rng.normal(0, j * w),
        f.y1 + rng.normal(0, j * h),
      );
    }
    if (rng.chance(habits.falsePositive)) {
      const side = rng.uniform(0.04, 0.15) * W;
      const cx = rng.uniform(0.2, 0.8) * W;
      const cy = rng.uniform(0.2, 0.75) * H;
      add(rng.pick(DETECTION_CLASSES), cx - side / 2, cy - side / 2, cx + side / 2, cy + side * rng.uniform(0.4, 0.6));
    }
    if (boxes.length === 0)
      rows.push({ imageId: image.imageId, className: NO_FINDING, classId: NO_FINDING_CLASS_ID, radId: reader, xMin: null, yMin: null, xMax: null, yMax: null });
    for (const b of boxes) rows.push({ imageId: image.imageId, radId: reader, ...b });
  }
  return rows;
}
