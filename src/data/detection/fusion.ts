// Reader fusion: the boxes of an image's readers (VinDr-CXR: three radiologists, each boxing alone)
// made into one reference, per class. Two methods, chosen in the dataset config (`detection.fusion`):
//
//   wbf        Weighted boxes fusion (Solovyev, Wang & Gabruseva 2021), every reader weight 1: boxes
//              of a class, in reader order, join the cluster whose fused box they overlap most with
//              IoU > `iou`, else start one; a cluster's box is the mean of its members' corners, its
//              score min(T, N)/N for T boxes of N readers of the image (the share of readers who saw
//              it). Clusters drawn by fewer than `min_readers` distinct readers are dropped (default 1:
//              keep everything and let the score say how many saw it).
//   consensus  "Consensus of ≥ k of N": the same clustering, but a cluster is kept only when at least
//              `min_readers` (default 2) distinct readers drew it, and its box is the corner-wise
//              MEDIAN of their boxes (one reader's sloppy box does not drag the reference).
//
// The published VinBigData pipelines mostly fused the training labels with WBF at IoU 0.4–0.6; the
// VinDr-CXR test set was labelled by consensus of five. Both are here so the choice is recorded in
// the dataset version and visible in its id.
import { ValidationError } from '../../core/errors.js';
import { type Box, iou, type ReaderBox } from './types.js';

export const FUSION_METHODS = ['wbf', 'consensus'] as const;
export type FusionMethod = (typeof FUSION_METHODS)[number];

export interface FusionOptions {
  method: FusionMethod;
  /** Boxes overlapping a cluster's box by more than this IoU join it. */
  iou: number;
  /** Keep a cluster only when this many distinct readers drew it. */
  minReaders: number;
}

export const FUSION_DEFAULTS: Record<FusionMethod, FusionOptions> = {
  wbf: { method: 'wbf', iou: 0.4, minReaders: 1 },
  consensus: { method: 'consensus', iou: 0.4, minReaders: 2 },
};

/** A reference box: the fused corners, the readers behind it and the share of the image's readers they are. */
export interface FusedBox extends Box {
  readers: string[];
  score: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Fuses one image's reader boxes. `readerCount` is how many readers read the image (those who said
 * 'No finding' included); it is the N of the score and must be at least the number of distinct readers.
 */
export function fuseReaders(boxes: readonly ReaderBox[], readerCount: number, o: FusionOptions): FusedBox[] {
  if (!(o.iou > 0 && o.iou < 1)) throw new ValidationError(`fusion iou must be between 0 and 1, got ${o.iou}`);
  if (!Number.isInteger(o.minReaders) || o.minReaders < 1) throw new ValidationError(`fusion min_readers must be a positive integer, got ${o.minReaders}`);
  const distinct = new Set(boxes.map((b) => b.reader)).size;
  if (readerCount < distinct) throw new ValidationError(`fusion: ${distinct} readers drew boxes but the image counts ${readerCount} readers`);
  const out: FusedBox[] = [];
  const classes = [...new Set(boxes.map((b) => b.classId))].sort((a, b) => a - b);
  const corner = (members: readonly ReaderBox[], k: 'x0' | 'y0' | 'x1' | 'y1') => (o.method === 'wbf' ? mean : median)(members.map((m) => m[k]));
  for (const classId of classes) {
    const clusters: { members: ReaderBox[]; box: Box }[] = [];
    for (const b of boxes.filter((x) => x.classId === classId)) {
      let best = -1;
      let bestIou = o.iou;
      for (const [i, c] of clusters.entries()) {
        const v = iou(b, c.box);
        if (v > bestIou) [best, bestIou] = [i, v];
      }
      if (best < 0) clusters.push({ members: [b], box: { classId, x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 } });
      else {
        const c = clusters[best]!;
        c.members.push(b);
        c.box = { classId, x0: corner(c.members, 'x0'), y0: corner(c.members, 'y0'), x1: corner(c.members, 'x1'), y1: corner(c.members, 'y1') };
      }
    }
    for (const c of clusters) {
      const readers = [...new Set(c.members.map((m) => m.reader))].sort();
      if (readers.length < o.minReaders) continue;
      out.push({ ...c.box, readers, score: Math.min(c.members.length, readerCount) / readerCount });
    }
  }
  return out;
}
