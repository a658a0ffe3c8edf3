// Label Studio, both ways. Export: one task per image with the model's boxes as `predictions`
// (pre-annotations a radiologist corrects instead of drawing from scratch), RectangleLabels in
// PERCENT of the image's width and height, as Label Studio stores them; labelingConfig() is the
// matching labelling interface. Import: the corrected tasks' latest non-cancelled annotation per task,
// back to pixel boxes, as rows of a VinDr annotations sheet (rad_id `ls:<annotator>`) — the sheet the
// ETL builds a new dataset version from (docs/detection.md, "Label Studio").
import { ValidationError } from '../../../core/errors.js';
import { DETECTION_CLASSES, NO_FINDING, NO_FINDING_CLASS_ID } from '../../classes.js';
import { detectionClassId, type ReaderAnnotationRow, type ScoredBox } from '../types.js';

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
  data: { image: string; image_id: string };
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

function annotator(a: NonNullable<LabelStudioTask['annotations']>[number]): string {
  const by = a.completed_by;
  const who = typeof by === 'object' && by !== null ? (by.email ?? 'unknown') : by === undefined ? 'unknown' : String(by);
  return `ls:${who}`;
}

/** The corrected tasks as VinDr annotation rows; a task whose annotation has no box says 'No finding'. */
export function fromLabelStudioTasks(json: unknown): ReaderAnnotationRow[] {
  if (!Array.isArray(json)) throw new ValidationError('Label Studio export: expected a JSON array of tasks');
  const rows: ReaderAnnotationRow[] = [];
  for (const [ti, raw] of json.entries()) {
    const task = raw as LabelStudioTask;
    const imageId = task?.data?.image_id;
    if (typeof imageId !== 'string' || imageId === '') throw new ValidationError(`Label Studio export: task ${ti} has no data.image_id`);
    const done = (task.annotations ?? []).filter((a) => !a.was_cancelled);
    if (done.length === 0) continue; // not reviewed: no label
    const latest = done.reduce((a, b) => ((b.updated_at ?? '') >= (a.updated_at ?? '') ? b : a));
    const radId = annotator(latest);
    const boxes = latest.result.filter((r) => r.type === 'rectanglelabels');
    if (boxes.length === 0) rows.push({ imageId, className: NO_FINDING, classId: NO_FINDING_CLASS_ID, radId, xMin: null, yMin: null, xMax: null, yMax: null });
    for (const r of boxes) {
      const name = r.value?.rectanglelabels?.[0] ?? '';
      const classId = detectionClassId(name);
      if (classId === undefined) throw new ValidationError(`Label Studio export: task ${ti} (${imageId}): label '${name}' is not one of the 14 VinDr findings`);
      if ((r.value.rotation ?? 0) !== 0) throw new ValidationError(`Label Studio export: task ${ti} (${imageId}): rotated boxes are not supported`);
      const { original_width: w, original_height: h } = r;
      if (!(w > 0 && h > 0)) throw new ValidationError(`Label Studio export: task ${ti} (${imageId}): a result needs original_width and original_height`);
      const x0 = (r.value.x / 100) * w;
      const y0 = (r.value.y / 100) * h;
      rows.push({
        imageId,
        className: DETECTION_CLASSES[classId]!,
        classId,
        radId,
        xMin: x0,
        yMin: y0,
        xMax: x0 + (r.value.width / 100) * w,
        yMax: y0 + (r.value.height / 100) * h,
      });
    }
  }
  return rows;
}
