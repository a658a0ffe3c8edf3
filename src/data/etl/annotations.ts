// annotations.jsonl, the one writer of its lines (data/detection/annotations.ts reads them): the ETL build
// writes the readers' boxes of sheet-labelled sources with their fused reference; a feedback version writes
// reader B's confirmed detector boxes with those boxes as the given reference. One encoder, so the two
// cannot drift apart in key order, rounding or shape.
import { DETECTION_CLASSES } from '../classes.js';
import type { ManifestImage } from '../datasets/types.js';
import { fuseReaders, type FusionOptions } from '../detection/fusion.js';
import { detectionClassId, type ReaderBox } from '../detection/types.js';
import type { ImageAnnotation } from './scan.js';

/** One box of a line's `reference`: what a detector trains and is scored on. */
export interface ReferenceBox {
  label: string;
  class_id: number;
  box: [number, number, number, number];
  readers: string[];
  score: number;
}

/** An image's annotation; `reference`, when given, is written as it is instead of fusing the readers' boxes. */
export type AnnotationInput = ImageAnnotation & { reference?: readonly ReferenceBox[] };

/**
 * For each image (in the order given) that has an annotation: the sheet's labels, its readers and every
 * reader's box, in the stored image's own pixel coordinates — what a detector needs and the manifest (one
 * class per image) cannot carry. Reader boxes are kept as given. Each line also carries `reference`: the
 * annotation's own when it has one, else with a fusion config (`detection.fusion`) the fused boxes of the
 * 14 detection classes (data/detection/fusion.ts), clipped to the image. Labels outside the 14 are kept in
 * `boxes` but not fused. '' when no image has an annotation.
 */
export function encodeAnnotations(images: readonly ManifestImage[], annotations: ReadonlyMap<string, AnnotationInput>, fusion?: FusionOptions): string {
  const lines: string[] = [];
  for (const img of images) {
    const a = annotations.get(img.objectKey);
    if (!a) continue;
    const reference = a.reference ?? (fusion && fusedReference(img, a, fusion));
    lines.push(
      JSON.stringify({
        object_key: img.objectKey,
        sha256: img.sha256,
        width: img.width,
        height: img.height,
        source_labels: a.labels,
        readers: a.readers,
        boxes: a.boxes.map((b) => ({ label: b.label, reader: b.reader, box: b.box })),
        ...(reference && { reference }),
      }),
    );
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function fusedReference(img: ManifestImage, a: ImageAnnotation, fusion: FusionOptions): ReferenceBox[] {
  const readerBoxes: ReaderBox[] = [];
  a.boxes.forEach((b, i) => {
    const classId = detectionClassId(b.label);
    if (classId === undefined) return;
    // A layout without reader ids (RSNA) makes each box its own reader.
    readerBoxes.push({ classId, reader: b.reader ?? `box${i}`, x0: b.box[0], y0: b.box[1], x1: b.box[2], y1: b.box[3] });
  });
  const readerCount = Math.max(a.readers.length, new Set(readerBoxes.map((b) => b.reader)).size, 1);
  const clip = (v: number, hi: number) => Math.round(Math.min(hi, Math.max(0, v)) * 1000) / 1000;
  return fuseReaders(readerBoxes, readerCount, fusion).map((f) => ({
    label: DETECTION_CLASSES[f.classId]!,
    class_id: f.classId,
    box: [clip(f.x0, img.width), clip(f.y0, img.height), clip(f.x1, img.width), clip(f.y1, img.height)],
    readers: f.readers,
    score: Math.round(f.score * 1e6) / 1e6,
  }));
}
