// The detector's data: the same per-split training caches as the classifier (letterboxed images, dataset.ts) with
// each image's fused reference boxes (the version's annotations.jsonl, data/detection/annotations.ts) carried into
// model-input pixels through the letterbox (data/detection/letterbox.ts). An image without a line or without
// reference boxes is an image without findings.
import { ValidationError } from '../core/errors.js';
import { readAnnotations } from '../data/detection/annotations.js';
import { letterbox, toInput } from '../data/detection/letterbox.js';
import type { ImageBoxes } from '../data/detection/types.js';
import type { ObjectStore } from '../storage/object-store.js';
import { boxesOf, type BoxTable, type ImageSet } from './data/batch.js';
import type { LabeledSet, TrainingData } from './dataset.js';

/** Reference boxes in input pixels per image (sha256 → boxes), from a detection version's annotations. */
export type ReferenceBoxes = ReadonlyMap<string, { classId: number; box: [number, number, number, number] }[]>;

export async function readReferenceBoxes(objects: ObjectStore, version: string, size: number): Promise<ReferenceBoxes> {
  const annotated = await readAnnotations(objects, version);
  if (!annotated) throw new ValidationError(`dataset version '${version}' has no box annotations: --task detect needs a detection version (docs/detection.md)`);
  const out = new Map<string, { classId: number; box: [number, number, number, number] }[]>();
  for (const a of annotated) {
    if (a.reference === null)
      throw new ValidationError(`dataset version '${version}' was built without reader fusion: add 'detection: { fusion: … }' to its datasets.yaml`);
    const lb = letterbox(a.width, a.height, size);
    out.set(
      a.sha256,
      a.reference.map((r) => {
        const b = toInput(r, lb);
        return { classId: r.classId, box: [b.x0, b.y0, b.x1, b.y1] };
      }),
    );
  }
  return out;
}

export function boxTable(set: LabeledSet, reference: ReferenceBoxes): BoxTable {
  const coords: number[] = [];
  const classes: number[] = [];
  const offsets = new Uint32Array(set.count + 1);
  for (let i = 0; i < set.count; i++) {
    for (const r of reference.get(set.sha256[i] as string) ?? []) {
      coords.push(...r.box);
      classes.push(r.classId);
    }
    offsets[i + 1] = classes.length;
  }
  return { coords: Float32Array.from(coords), classes: Uint8Array.from(classes), offsets };
}

/** The training data with every set's boxes attached. */
export function withBoxes(data: TrainingData, reference: ReferenceBoxes): TrainingData {
  const attach = (set: LabeledSet): LabeledSet => ({ ...set, boxes: boxTable(set, reference) });
  return { ...data, train: attach(data.train), val: attach(data.val), test: attach(data.test), finalEval: attach(data.finalEval) };
}

/** A set's boxes as the metrics take them (input pixels; image ids are the row numbers). */
export function truthOf(set: ImageSet): ImageBoxes[] {
  if (!set.boxes) throw new ValidationError('the set has no boxes');
  const table = set.boxes;
  return Array.from({ length: set.count }, (_, i) => {
    const { coords, classes } = boxesOf(table, i);
    return {
      imageId: String(i),
      width: set.size,
      height: set.size,
      boxes: Array.from(classes, (classId, m) => ({ classId, x0: coords[4 * m]!, y0: coords[4 * m + 1]!, x1: coords[4 * m + 2]!, y1: coords[4 * m + 3]! })),
    };
  });
}
