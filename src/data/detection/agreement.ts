// How much a version's readers agree, per class — what `data validate` reports for a detection
// dataset, and the ceiling any detector's scores should be read against (a model cannot agree with a
// reference better than the readers who made it agree with each other).
//
//   pairwise F1  for every image and every pair of its readers, the class's boxes of one matched to
//                the other's (greedy by IoU, IoU ≥ `iou`); F1 = Σ 2·matches / Σ (boxes of both),
//                over all pairs and images where either drew the class (micro average).
//   Fleiss' κ    image level: did each reader box the class at all? κ over the images read by the
//                usual number of readers (Fleiss needs the same count per image).
import { DETECTION_CLASSES } from '../classes.js';
import { iou, type ReaderBox } from './types.js';

export interface AgreementImage {
  readers: readonly string[];
  boxes: readonly ReaderBox[];
}

export interface ClassAgreement {
  classId: number;
  class: string;
  /** Reader boxes of the class, and images where at least one reader drew it. */
  boxes: number;
  images: number;
  /** null when no pair of readers drew the class. */
  pairF1: number | null;
  /** null when every reader always (or never) drew it: κ is undefined. */
  kappa: number | null;
}

/** Greedy one-to-one matches between two box lists by IoU (highest first), counting pairs with IoU ≥ t. */
export function matchCount(a: readonly ReaderBox[], b: readonly ReaderBox[], t: number): number {
  const pairs: { i: number; j: number; v: number }[] = [];
  a.forEach((x, i) => b.forEach((y, j) => pairs.push({ i, j, v: iou(x, y) })));
  pairs.sort((p, q) => q.v - p.v);
  const ua = new Set<number>();
  const ub = new Set<number>();
  let n = 0;
  for (const p of pairs) {
    if (p.v < t) break;
    if (ua.has(p.i) || ub.has(p.j)) continue;
    ua.add(p.i);
    ub.add(p.j);
    n += 1;
  }
  return n;
}

export function readerAgreement(images: readonly AgreementImage[], t = 0.4): ClassAgreement[] {
  const counts = new Map<number, number>();
  for (const im of images) counts.set(im.readers.length, (counts.get(im.readers.length) ?? 0) + 1);
  const n = [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0] ?? 0;
  return DETECTION_CLASSES.map((name, classId) => {
    let twice = 0;
    let both = 0;
    let boxes = 0;
    let withClass = 0;
    let pSum = 0;
    let yes = 0;
    let subjects = 0;
    for (const im of images) {
      const mine = im.boxes.filter((b) => b.classId === classId);
      boxes += mine.length;
      if (mine.length > 0) withClass += 1;
      const by = im.readers.map((r) => mine.filter((b) => b.reader === r));
      for (let i = 0; i < by.length; i++)
        for (let j = i + 1; j < by.length; j++) {
          if (by[i]!.length + by[j]!.length === 0) continue;
          twice += 2 * matchCount(by[i]!, by[j]!, t);
          both += by[i]!.length + by[j]!.length;
        }
      if (n >= 2 && im.readers.length === n) {
        const n1 = by.filter((x) => x.length > 0).length;
        const n0 = n - n1;
        pSum += (n1 * (n1 - 1) + n0 * (n0 - 1)) / (n * (n - 1));
        yes += n1;
        subjects += 1;
      }
    }
    let kappa: number | null = null;
    if (subjects > 0) {
      const p1 = yes / (subjects * n);
      const pe = p1 * p1 + (1 - p1) * (1 - p1);
      if (pe < 1) kappa = (pSum / subjects - pe) / (1 - pe);
    }
    return { classId, class: name, boxes, images: withClass, pairF1: both > 0 ? twice / both : null, kappa };
  });
}
