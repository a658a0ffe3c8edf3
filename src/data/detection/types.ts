// The detector's data shapes, shared by the synthetic generator, the ETL (reader fusion), the trainer
// (assigner, augmentation), the metrics and the annotation-format converters. One box type everywhere:
// corners in the ORIGINAL image's pixel coordinates (DICOM Columns × Rows), x to the right, y down,
// continuous (a box covering pixel columns 10…19 inclusive is x0 = 10, x1 = 20), as VinDr-CXR writes them.
// Model-input coordinates (the letterboxed square) exist only inside data/detection/letterbox.ts callers.
import type { DetectionClass } from '../classes.js';
import { DETECTION_CLASSES, NO_FINDING, NO_FINDING_CLASS_ID } from '../classes.js';

export { DETECTION_CLASSES, NO_FINDING, NO_FINDING_CLASS_ID };
export type { DetectionClass };

/** Index into DETECTION_CLASSES (0…13), the VinDr `class_id`. */
export type DetectionClassId = number;

export const DETECTION_CLASS_COUNT = DETECTION_CLASSES.length;

/** One box: a class and its corners, x0 < x1 and y0 < y1, in original-image pixels. */
export interface Box {
  classId: DetectionClassId;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A predicted box: a Box with the model's confidence in (0, 1]. */
export interface ScoredBox extends Box {
  score: number;
}

/** A reader's box (one radiologist's, or a simulated reader's): which reader drew it. */
export interface ReaderBox extends Box {
  reader: string;
}

/**
 * One row of a VinDr-CXR annotations sheet: `image_id, class_name, class_id, rad_id, x_min, y_min, x_max, y_max`.
 * A 'No finding' row (class_id 14) says that reader found nothing and carries no coordinates (null).
 */
export interface ReaderAnnotationRow {
  imageId: string;
  className: DetectionClass | typeof NO_FINDING;
  classId: number;
  radId: string;
  xMin: number | null;
  yMin: number | null;
  xMax: number | null;
  yMax: number | null;
}

/** The column order of a VinDr annotations CSV as this project writes it (readers accept any order). */
export const ANNOTATION_COLUMNS = ['image_id', 'class_name', 'class_id', 'rad_id', 'x_min', 'y_min', 'x_max', 'y_max'] as const;

/** An image's reference boxes (after reader fusion) with its size, the unit the trainer and metrics take. */
export interface ImageBoxes {
  imageId: string;
  width: number;
  height: number;
  boxes: Box[];
}

/** A model's predictions for one image, in the same coordinates. */
export interface ImagePredictions {
  imageId: string;
  boxes: ScoredBox[];
}

export function detectionClassId(name: string): DetectionClassId | undefined {
  const i = (DETECTION_CLASSES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : i;
}

export function boxArea(b: Box): number {
  return Math.max(0, b.x1 - b.x0) * Math.max(0, b.y1 - b.y0);
}

/** Intersection over union of two boxes (class ignored); 0 when either has no area. */
export function iou(a: Box, b: Box): number {
  const iw = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const ih = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}
