// Labels sheets of the DICOM chest X-ray sets, read into one shape: per image id, the source labels
// it carries and every box a reader drew. Two layouts, as distributed:
//
//   rsna  — RSNA Pneumonia Detection Challenge. stage_2_train_labels.csv: patientId,x,y,width,height,
//           Target (one row per box; Target=0 rows have no box); optional stage_2_detailed_class_info.csv:
//           patientId,class with 'Lung Opacity', 'Normal', 'No Lung Opacity / Not Normal'. The image is
//           <patientId>.dcm. Without the class sheet the labels are 'Target=1' / 'Target=0'.
//   vindr — VinDr-CXR. annotations_train.csv: image_id,class_name,rad_id,x_min,y_min,x_max,y_max
//           (class_id optional), one row per finding per radiologist; 'No finding' rows carry no box.
//           The image is train/<image_id>.dicom.
//
// The class of an image (docs/datasets.md, "Labels sheets"): when its only label is the layout's
// normal label ('Normal', 'No finding') that label's rule decides; otherwise the normal label is
// dropped and the first class rule, in config order, whose label the image carries decides. An image
// no rule claims is left out of the version and counted. The rule for "normal" is strict on purpose:
// a VinDr image that one radiologist of three boxed is not a normal image.
import { ValidationError } from '../../core/errors.js';
import type { SecondreadClass } from '../classes.js';
import { parseCsv, requireColumns } from './csv.js';

export const LABEL_LAYOUTS = ['rsna', 'vindr'] as const;
export type LabelLayout = (typeof LABEL_LAYOUTS)[number];

/** The label that means "nothing found" in each layout. */
export const NORMAL_LABEL: Record<LabelLayout, string> = { rsna: 'Normal', vindr: 'No finding' };

export interface LabelBox {
  /** The finding's source label ('Lung Opacity', 'Nodule/Mass'…). */
  label: string;
  /** The radiologist who drew it (VinDr rad_id); null when the layout does not say. */
  reader: string | null;
  /** [x0, y0, x1, y1] in the image's own pixel coordinates (DICOM Columns × Rows). */
  box: [number, number, number, number];
}

export interface ImageLabels {
  labels: Set<string>;
  /** Every reader with a row for the image ('No finding' rows included: VinDr rad_id); empty for RSNA. */
  readers: Set<string>;
  boxes: LabelBox[];
  /** Why the sheets contradict each other about this image (then it is left out), else undefined. */
  conflict?: string;
}

export interface LabelSheets {
  byImage: Map<string, ImageLabels>;
  rows: number;
}

export interface LabelRule {
  source: string;
  class: SecondreadClass;
}

export type LabelDecision = { kind: 'class'; class: SecondreadClass; source: string } | { kind: 'excluded'; reason: string };

function num(value: string, where: string): number {
  const n = Number(value);
  if (value === '' || !Number.isFinite(n)) throw new ValidationError(`${where}: '${value}' is not a number`);
  return n;
}

function entry(map: Map<string, ImageLabels>, id: string): ImageLabels {
  let e = map.get(id);
  if (!e) map.set(id, (e = { labels: new Set(), readers: new Set(), boxes: [] }));
  return e;
}

/** Reads the layout's sheets (`main` is the labels CSV, `classInfo` RSNA's detailed class sheet). */
export function readLabelSheets(layout: LabelLayout, main: { name: string; text: string }, classInfo?: { name: string; text: string }): LabelSheets {
  const byImage = new Map<string, ImageLabels>();
  const table = parseCsv(main.text, main.name);
  if (layout === 'rsna') {
    requireColumns(table, main.name, ['patientId', 'x', 'y', 'width', 'height', 'Target']);
    const target = new Map<string, boolean>();
    for (const [i, r] of table.rows.entries()) {
      const where = `${main.name}: line ${i + 2}`;
      const id = r.patientId!;
      if (!id) throw new ValidationError(`${where}: empty patientId`);
      if (r.Target !== '0' && r.Target !== '1') throw new ValidationError(`${where}: Target must be 0 or 1, not '${r.Target}'`);
      const positive = r.Target === '1';
      target.set(id, (target.get(id) ?? false) || positive);
      const e = entry(byImage, id);
      if (positive) {
        const [x, y, w, h] = [num(r.x!, `${where} x`), num(r.y!, `${where} y`), num(r.width!, `${where} width`), num(r.height!, `${where} height`)];
        if (w <= 0 || h <= 0) throw new ValidationError(`${where}: a box needs a positive width and height`);
        e.boxes.push({ label: 'Lung Opacity', reader: null, box: [x, y, x + w, y + h] });
      }
    }
    if (classInfo) {
      const info = parseCsv(classInfo.text, classInfo.name);
      requireColumns(info, classInfo.name, ['patientId', 'class']);
      const classOf = new Map<string, string>();
      for (const [i, r] of info.rows.entries()) {
        const id = r.patientId!;
        const before = classOf.get(id);
        // The real sheet repeats a patient's class once per box row: repeats must agree.
        if (before !== undefined && before !== r.class) throw new ValidationError(`${classInfo.name}: line ${i + 2}: '${id}' is '${before}' and '${r.class}'`);
        classOf.set(id, r.class!);
      }
      for (const [id, positive] of target) {
        const e = byImage.get(id)!;
        const cls = classOf.get(id);
        if (cls === undefined) e.conflict = `not listed in ${classInfo.name}`;
        else if ((cls === 'Lung Opacity') !== positive) e.conflict = `${main.name} says Target=${positive ? 1 : 0} but ${classInfo.name} says '${cls}'`;
        if (cls !== undefined) e.labels.add(cls);
      }
      for (const id of classOf.keys()) if (!target.has(id)) entry(byImage, id).conflict = `listed in ${classInfo.name} but not in ${main.name}`;
    } else {
      for (const [id, positive] of target) byImage.get(id)!.labels.add(positive ? 'Target=1' : 'Target=0');
    }
  } else {
    requireColumns(table, main.name, ['image_id', 'class_name', 'rad_id', 'x_min', 'y_min', 'x_max', 'y_max']);
    for (const [i, r] of table.rows.entries()) {
      const where = `${main.name}: line ${i + 2}`;
      const id = r.image_id!;
      if (!id) throw new ValidationError(`${where}: empty image_id`);
      if (!r.class_name) throw new ValidationError(`${where}: empty class_name`);
      const e = entry(byImage, id);
      e.labels.add(r.class_name);
      if (r.rad_id) e.readers.add(r.rad_id);
      if (r.class_name === NORMAL_LABEL.vindr) continue; // its coordinates are empty (or NaN in some exports)
      const box: LabelBox['box'] = [
        num(r.x_min!, `${where} x_min`),
        num(r.y_min!, `${where} y_min`),
        num(r.x_max!, `${where} x_max`),
        num(r.y_max!, `${where} y_max`),
      ];
      if (box[2] <= box[0] || box[3] <= box[1]) throw new ValidationError(`${where}: x_max/y_max must be greater than x_min/y_min`);
      e.boxes.push({ label: r.class_name, reader: r.rad_id || null, box });
    }
  }
  return { byImage, rows: table.rows.length };
}

/** The image's class by the rules (see the file comment). */
export function decideClass(layout: LabelLayout, image: ImageLabels, rules: readonly LabelRule[]): LabelDecision {
  if (image.conflict) return { kind: 'excluded', reason: `labels disagree: ${image.conflict}` };
  const normal = NORMAL_LABEL[layout];
  if (image.labels.size === 1 && image.labels.has(normal)) {
    const rule = rules.find((r) => r.source === normal);
    return rule ? { kind: 'class', class: rule.class, source: normal } : { kind: 'excluded', reason: `no class rule for '${normal}'` };
  }
  for (const r of rules) if (r.source !== normal && image.labels.has(r.source)) return { kind: 'class', class: r.class, source: r.source };
  const labels = [...image.labels].filter((l) => l !== normal).sort();
  return { kind: 'excluded', reason: `no class rule for ${labels.map((l) => `'${l}'`).join(', ')}` };
}

/** The image id a file stands for: its base name without the extension (<patientId>.dcm, <image_id>.dicom). */
export function imageIdOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}
