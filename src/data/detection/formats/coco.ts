// COCO object-detection JSON, both ways: `images`, `annotations` (bbox = [x, y, width, height] in
// pixels, top-left origin) and `categories` (ids 1…14 for the 14 VinDr classes, as COCO counts from 1).
// Import maps categories by NAME, so a file written by another tool with its own ids reads correctly.
import { ValidationError } from '../../../core/errors.js';
import { DETECTION_CLASSES } from '../../classes.js';
import { detectionClassId, type ImageBoxes } from '../types.js';
import { boxInsideImage } from './bounds.js';

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  area: number;
  iscrowd: 0 | 1;
  score?: number;
}

export interface CocoDataset {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: { id: number; name: string; supercategory: string }[];
}

/** `images[i].imageId` becomes the COCO file_name; ids are 1-based positions. */
export function toCoco(images: readonly ImageBoxes[]): CocoDataset {
  const annotations: CocoAnnotation[] = [];
  images.forEach((img, i) => {
    for (const b of img.boxes) {
      const w = b.x1 - b.x0;
      const h = b.y1 - b.y0;
      annotations.push({ id: annotations.length + 1, image_id: i + 1, category_id: b.classId + 1, bbox: [b.x0, b.y0, w, h], area: w * h, iscrowd: 0 });
    }
  });
  return {
    images: images.map((img, i) => ({ id: i + 1, file_name: img.imageId, width: img.width, height: img.height })),
    annotations,
    categories: DETECTION_CLASSES.map((name, i) => ({ id: i + 1, name, supercategory: 'finding' })),
  };
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** `name` (the file) starts every error; a box outside its image is refused (bounds.ts). */
export function fromCoco(json: unknown, name = 'COCO file'): ImageBoxes[] {
  function fail(message: string): never {
    throw new ValidationError(`${name}: ${message}`);
  }
  const d = json as Partial<CocoDataset> | null;
  if (!d || !Array.isArray(d.images) || !Array.isArray(d.annotations) || !Array.isArray(d.categories)) fail('needs images, annotations and categories arrays');
  const classOf = new Map<number, number>();
  for (const c of d.categories) {
    const id = detectionClassId(String(c?.name));
    if (id === undefined) fail(`category '${String(c?.name)}' is not one of the 14 VinDr findings`);
    classOf.set(c.id, id);
  }
  const byId = new Map<number, ImageBoxes>();
  const out: ImageBoxes[] = [];
  for (const im of d.images) {
    if (!im || !isNum(im.id) || typeof im.file_name !== 'string' || !isNum(im.width) || !isNum(im.height) || im.width <= 0 || im.height <= 0)
      fail(`image ${JSON.stringify(im?.id ?? null)}: an image needs id, file_name and a positive width and height`);
    if (byId.has(im.id)) fail(`image id ${im.id} is listed twice`);
    const e: ImageBoxes = { imageId: im.file_name, width: im.width, height: im.height, boxes: [] };
    byId.set(im.id, e);
    out.push(e);
  }
  for (const a of d.annotations) {
    const img = byId.get(a?.image_id);
    if (!img) fail(`annotation ${String(a?.id)} names image ${String(a?.image_id)}, which is not listed`);
    const classId = classOf.get(a.category_id);
    if (classId === undefined) fail(`annotation ${a.id} names category ${a.category_id}, which is not listed`);
    if (!Array.isArray(a.bbox) || a.bbox.length !== 4 || !a.bbox.every(isNum) || a.bbox[2] <= 0 || a.bbox[3] <= 0)
      fail(`annotation ${a.id}: bbox must be [x, y, width, height] with a positive width and height`);
    const [x, y, w, h] = a.bbox;
    img.boxes.push(boxInsideImage({ classId, x0: x, y0: y, x1: x + w, y1: y + h }, img.width, img.height, `${name}: annotation ${a.id} (${img.imageId})`));
  }
  return out;
}
