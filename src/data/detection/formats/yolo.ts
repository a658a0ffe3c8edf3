// YOLO (Ultralytics/Darknet) text labels, both ways: one .txt per image, one line per box,
// `class cx cy w h` with the centre and size as fractions of the image's width and height; class
// indices follow DETECTION_CLASSES (the `names` of data.yaml). The image size is not in the file, so
// import takes it.
import { ValidationError } from '../../../core/errors.js';
import { DETECTION_CLASSES } from '../../classes.js';
import { type Box, detectionClassId, type ImageBoxes } from '../types.js';
import { boxInsideImage } from './bounds.js';

/** Fractions are written with 7 decimals: under 1e-3 px of rounding on a 4096-px image. */
const DIGITS = 7;

export function toYoloLabels(image: ImageBoxes): string {
  const f = (v: number) => Number(v.toFixed(DIGITS)).toString();
  return image.boxes
    .map((b) => {
      const cx = (b.x0 + b.x1) / 2 / image.width;
      const cy = (b.y0 + b.y1) / 2 / image.height;
      return `${b.classId} ${f(cx)} ${f(cy)} ${f((b.x1 - b.x0) / image.width)} ${f((b.y1 - b.y0) / image.height)}`;
    })
    .map((l) => `${l}\n`)
    .join('');
}

/**
 * `names` are the file set's class names by index (its data.yaml; ours by default), mapped to our classes BY NAME;
 * `name` (the label file) starts every error, with the line number.
 */
export function fromYoloLabels(text: string, width: number, height: number, name = 'labels', names: readonly string[] = DETECTION_CLASSES): Box[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .map((l, i) => ({ l, i }))
    .filter(({ l }) => l !== '')
    .map(({ l, i }) => {
      const parts = l.split(/\s+/);
      const [c, cx, cy, w, h] = parts.map(Number);
      if (parts.length !== 5 || ![c, cx, cy, w, h].every((v) => Number.isFinite(v)))
        throw new ValidationError(`${name}: line ${i + 1}: expected 'class cx cy w h', got '${l}'`);
      if (!Number.isInteger(c) || c! < 0 || c! >= names.length) throw new ValidationError(`${name}: line ${i + 1}: class ${c} is not 0…${names.length - 1}`);
      const classId = detectionClassId(names[c!]!);
      if (classId === undefined) throw new ValidationError(`${name}: line ${i + 1}: class ${c} ('${names[c!]}') is not one of the 14 VinDr findings`);
      if (w! <= 0 || h! <= 0) throw new ValidationError(`${name}: line ${i + 1}: width and height must be positive`);
      const box = { classId, x0: (cx! - w! / 2) * width, y0: (cy! - h! / 2) * height, x1: (cx! + w! / 2) * width, y1: (cy! + h! / 2) * height };
      return boxInsideImage(box, width, height, `${name}: line ${i + 1}`);
    });
}

/** The data.yaml `names` block for these labels. */
export function yoloNames(): string {
  return `names:\n${DETECTION_CLASSES.map((n, i) => `  ${i}: ${JSON.stringify(n)}`).join('\n')}\n`;
}
