// Label Studio, both ways. Export: one task per image with the model's boxes as `predictions`
// (pre-annotations a radiologist corrects instead of drawing from scratch), RectangleLabels in
// PERCENT of the image's width and height, as Label Studio stores them; labelingConfig() is the
// matching labelling interface. Import: the corrected tasks' latest non-cancelled annotation per task,
// back to pixel boxes, as rows of a VinDr annotations sheet (rad_id `ls:<annotator>`) — the sheet the
// ETL builds a new dataset version from (docs/detection.md, "Label Studio").
import { ValidationError } from '../../../core/errors.js';
import { DETECTION_CLASSES, NO_FINDING, NO_FINDING_CLASS_ID } from '../../classes.js';
import { type Box, detectionClassId, type ReaderAnnotationRow, type ScoredBox } from '../types.js';
import { boxInsideImage } from './bounds.js';

const FROM = 'label';
const TO = 'image';

export interface LabelStudioResult {
  id?: string;
  type: 'rectanglelabels';
  from_name: string;
  to_name: string;
  original_width: number;
  original_height: number;
  image_rotation?: number;
  value: { x: number; y: number; width: number; height: number; rotation?: number; rectanglelabels: string[] };
  score?: number;
}

export interface LabelStudioTask {
  id?: number;
  /** `split` is written by `data export` (the dataset split the image belongs to); Label Studio keeps extra data keys. */
  data: { image: string; image_id: string; split?: string };
  predictions?: { model_version: string; score?: number; result: LabelStudioResult[] }[];
  annotations?: {
    id?: number;
    completed_by?: number | string | { email?: string };
    was_cancelled?: boolean;
    updated_at?: string;
    result: LabelStudioResult[];
  }[];
}

/** The labelling interface for these tasks: the image and one RectangleLabels with the 14 findings. */
export function labelingConfig(): string {
  const labels = DETECTION_CLASSES.map((c) => `    <Label value="${c}"/>`).join('\n');
  return `<View>\n  <Image name="${TO}" value="$image"/>\n  <RectangleLabels name="${FROM}" toName="${TO}">\n${labels}\n  </RectangleLabels>\n</View>\n`;
}

export interface TaskInput {
  imageId: string;
  /** Where Label Studio loads the image from (a URL or /data/local-files/?d=… path). */
  imageUrl: string;
  width: number;
  height: number;
  boxes: readonly ScoredBox[];
}

export function toLabelStudioTasks(images: readonly TaskInput[], modelVersion: string): LabelStudioTask[] {
  return images.map((im) => ({
    data: { image: im.imageUrl, image_id: im.imageId },
    predictions: [
      {
        model_version: modelVersion,
        score: im.boxes.length ? Math.max(...im.boxes.map((b) => b.score)) : 0,
        result: im.boxes.map((b, i) => ({
          id: `${im.imageId.slice(0, 8)}-${i}`,
          type: 'rectanglelabels' as const,
          from_name: FROM,
          to_name: TO,
          original_width: im.width,
          original_height: im.height,
          image_rotation: 0,
          value: {
            x: (100 * b.x0) / im.width,
            y: (100 * b.y0) / im.height,
            width: (100 * (b.x1 - b.x0)) / im.width,
            height: (100 * (b.y1 - b.y0)) / im.height,
            rotation: 0,
            rectanglelabels: [DETECTION_CLASSES[b.classId]!],
          },
          score: b.score,
        })),
      },
    ],
  }));
}

/** One reviewed task: its latest non-cancelled annotation, with who made it and when (lineage). */
export interface LabelStudioReview {
  /** Position of the task in the file (0-based) and its Label Studio id. */
  task: number;
  taskId: number | null;
  imageId: string;
  /** `data.image` as exported (a URL or local-files path). */
  image: string | null;
  annotationId: number | null;
  /** `completed_by`: the e-mail, the user id, or 'unknown'. */
  annotator: string;
  updatedAt: string | null;
  /** The annotation's boxes in pixels ([] = the radiologist found nothing). */
  boxes: Box[];
  /** `original_width` × `original_height` of its results; null when it has no box. */
  size: { width: number; height: number } | null;
}

function annotatorOf(a: NonNullable<LabelStudioTask['annotations']>[number]): string {
  const by = a.completed_by;
  return typeof by === 'object' && by !== null ? (by.email ?? 'unknown') : by === undefined ? 'unknown' : String(by);
}

/** The image a task is about: `data.image_id`, else the file name at the end of `data.image`. */
function taskImageId(task: LabelStudioTask | undefined): string | undefined {
  const id = task?.data?.image_id;
  if (typeof id === 'string' && id !== '') return id;
  const url = task?.data?.image;
  if (typeof url !== 'string' || url === '') return undefined;
  const path = decodeURIComponent(url.split('?d=').at(-1)!.split(/[?#]/)[0]!);
  return path.slice(path.lastIndexOf('/') + 1) || undefined;
}

/**
 * Every reviewed task of a Label Studio JSON export: the latest non-cancelled annotation, boxes back to
 * pixels and checked against the image (bounds.ts). Unreviewed tasks (no annotation, or all cancelled)
 * are listed by position in `unreviewed`. `name` (the file) starts every error, with the task named.
 */
export function readLabelStudioReviews(json: unknown, name = 'Label Studio export'): { reviews: LabelStudioReview[]; unreviewed: number[] } {
  if (!Array.isArray(json)) throw new ValidationError(`${name}: expected a JSON array of tasks`);
  const reviews: LabelStudioReview[] = [];
  const unreviewed: number[] = [];
  for (const [ti, raw] of json.entries()) {
    const task = raw as LabelStudioTask | undefined;
    const imageId = taskImageId(task);
    if (imageId === undefined) throw new ValidationError(`${name}: task ${ti} has no data.image_id (nor data.image)`);
    const where = `${name}: task ${ti}${typeof task?.id === 'number' ? ` (id ${task.id})` : ''} (${imageId})`;
    if (task!.annotations !== undefined && !Array.isArray(task!.annotations)) throw new ValidationError(`${where}: annotations must be an array`);
    const done = (task!.annotations ?? []).filter((a) => a && !a.was_cancelled);
    if (done.length === 0) {
      unreviewed.push(ti); // not reviewed: no label
      continue;
    }
    const latest = done.reduce((a, b) => ((b.updated_at ?? '') >= (a.updated_at ?? '') ? b : a));
    if (!Array.isArray(latest.result)) throw new ValidationError(`${where}: the annotation has no result array`);
    const boxes: Box[] = [];
    let size: LabelStudioReview['size'] = null;
    for (const [ri, r] of latest.result.entries()) {
      if (r?.type !== 'rectanglelabels') continue;
      const at = `${where}: result ${ri}`;
      const label = r.value?.rectanglelabels?.[0] ?? '';
      const classId = detectionClassId(label);
      if (classId === undefined) throw new ValidationError(`${at}: label '${label}' is not one of the 14 VinDr findings`);
      if ((r.value.rotation ?? 0) !== 0) throw new ValidationError(`${at}: rotated boxes are not supported`);
      const { original_width: w, original_height: h } = r;
      if (!(w > 0 && h > 0)) throw new ValidationError(`${at}: a result needs original_width and original_height`);
      if (size && (size.width !== w || size.height !== h))
        throw new ValidationError(`${at}: results disagree on the image size (${size.width}×${size.height} vs ${w}×${h})`);
      size = { width: w, height: h };
      const x0 = (r.value.x / 100) * w;
      const y0 = (r.value.y / 100) * h;
      boxes.push(boxInsideImage({ classId, x0, y0, x1: x0 + (r.value.width / 100) * w, y1: y0 + (r.value.height / 100) * h }, w, h, at));
    }
    reviews.push({
      task: ti,
      taskId: typeof task!.id === 'number' ? task!.id : null,
      imageId,
      image: typeof task!.data?.image === 'string' ? task!.data.image : null,
      annotationId: typeof latest.id === 'number' ? latest.id : null,
      annotator: annotatorOf(latest),
      updatedAt: latest.updated_at ?? null,
      boxes,
      size,
    });
  }
  return { reviews, unreviewed };
}

/** The corrected tasks as VinDr annotation rows (rad_id `ls:<annotator>`); a task whose annotation has no box says 'No finding'. */
export function fromLabelStudioTasks(json: unknown): ReaderAnnotationRow[] {
  return readLabelStudioReviews(json).reviews.flatMap((r): ReaderAnnotationRow[] => {
    const radId = `ls:${r.annotator}`;
    if (r.boxes.length === 0)
      return [{ imageId: r.imageId, className: NO_FINDING, classId: NO_FINDING_CLASS_ID, radId, xMin: null, yMin: null, xMax: null, yMax: null }];
    return r.boxes.map((b) => ({
      imageId: r.imageId,
      className: DETECTION_CLASSES[b.classId]!,
      classId: b.classId,
      radId,
      xMin: b.x0,
      yMin: b.y0,
      xMax: b.x1,
      yMax: b.y1,
    }));
  });
}
