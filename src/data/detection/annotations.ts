// Reads a detection version's annotations.jsonl (written by data/etl/annotations.ts): per stored image its
// size, readers, every reader's box and — when the version was built with `detection.fusion` — the
// fused reference the detector trains and is scored on.
import { ValidationError } from '../../core/errors.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { annotationsKey } from '../etl/naming.js';
import type { FusedBox } from './fusion.js';
import { detectionClassId, type ReaderBox } from './types.js';

export interface AnnotatedImage {
  objectKey: string;
  sha256: string;
  width: number;
  height: number;
  readers: string[];
  /** Reader boxes of the 14 detection classes (other labels are skipped). */
  readerBoxes: ReaderBox[];
  /** The fused reference; null when the version was built without a fusion config. */
  reference: FusedBox[] | null;
}

interface Line {
  object_key: string;
  sha256: string;
  width: number;
  height: number;
  readers?: string[];
  boxes: { label: string; reader: string | null; box: [number, number, number, number] }[];
  reference?: { class_id: number; box: [number, number, number, number]; readers: string[]; score: number }[];
}

export function parseAnnotations(text: string, name = 'annotations.jsonl'): AnnotatedImage[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      let line: Line;
      try {
        line = JSON.parse(l) as Line;
      } catch {
        throw new ValidationError(`${name}: line ${i + 1} is not JSON`);
      }
      const readerBoxes: ReaderBox[] = [];
      line.boxes.forEach((b, k) => {
        const classId = detectionClassId(b.label);
        if (classId === undefined) return;
        readerBoxes.push({ classId, reader: b.reader ?? `box${k}`, x0: b.box[0], y0: b.box[1], x1: b.box[2], y1: b.box[3] });
      });
      return {
        objectKey: line.object_key,
        sha256: line.sha256,
        width: line.width,
        height: line.height,
        readers: line.readers ?? [],
        readerBoxes,
        reference: line.reference
          ? line.reference.map((r) => ({ classId: r.class_id, x0: r.box[0], y0: r.box[1], x1: r.box[2], y1: r.box[3], readers: r.readers, score: r.score }))
          : null,
      };
    });
}

/** The version's annotations, or null when it has none (a classification version). */
export async function readAnnotations(objects: ObjectStore, versionId: string): Promise<AnnotatedImage[] | null> {
  const key = annotationsKey(versionId);
  if (!(await objects.head(key))) return null;
  return parseAnnotations((await objects.getBytes(key)).toString('utf8'), key);
}
