// `data export`: a detection dataset version → files an annotation tool loads (docs/detection.md,
// "Annotation formats"). Every layout holds the images under images/<split>/ (DICOM rendered to 8-bit
// PNG: the tools do not open DICOM) and the version's reference boxes — the fused boxes the detector
// trains on — in the tool's format:
//   coco        annotations/instances_<split>.json
//   yolo        labels/<split>/<name>.txt and data.yaml (Ultralytics layout)
//   labelstudio tasks.json (one task per image, boxes as `predictions`: pre-annotations) and
//               labeling-config.xml (the labelling interface to paste into the project)
// Label Studio's pre-annotations come from a model when the caller passes one (`predictions.source`),
// else from the reference itself (model_version `reference:<version>`, score = the reference's reader
// agreement), or are left out. Images without an annotations line (a classification source) are not exported.
import { ValidationError } from '../../../core/errors.js';
import type { Db } from '../../../storage/db.js';
import type { ObjectStore } from '../../../storage/object-store.js';
import { getVersion, listImages } from '../../datasets/repository.js';
import { type ManifestImage, type Split, SPLITS } from '../../datasets/types.js';
import { decodeGrayscale } from '../../images/decode.js';
import type { ArchiveWriter } from '../../synth/archive-writer.js';
import { encodeGray } from '../../synth/encode.js';
import { readAnnotations } from '../annotations.js';
import type { ImageBoxes, ScoredBox } from '../types.js';
import { toCoco } from './coco.js';
import { labelingConfig, toLabelStudioTasks } from './label-studio.js';
import { type ExchangeFormat, stemOf } from './read-import.js';
import { toYoloLabels, yoloNames } from './yolo.js';

/** A model that boxes an image (the CLI wires a registered detector); boxes in the image's pixels. */
export interface PredictionSource {
  /** What Label Studio shows as the prediction's `model_version`, e.g. `det-nano@3`. */
  modelVersion: string;
  predict(image: { objectKey: string; bytes: Buffer; width: number; height: number }): Promise<ScoredBox[]>;
}

export interface ExportOptions {
  db: Db;
  objects: ObjectStore;
  /** A ready version (full id). */
  version: string;
  format: ExchangeFormat;
  /** Only this split (default: all three, each in its own folder / file). */
  split?: Split;
  /** Receives every file (a folder or a zip: archive-writer.ts). */
  writer: ArchiveWriter;
  /** Label Studio: the URL prefix its tasks load images from; `<split>/<name>` is appended. */
  imageUrlPrefix?: string;
  /** Label Studio pre-annotations: the reference (default), a model's boxes, or none. */
  predictions?: 'reference' | 'none' | PredictionSource;
  onProgress?: (done: number, total: number) => void;
}

export interface ExportSummary {
  version: string;
  format: ExchangeFormat;
  images: number;
  boxes: number;
  splits: Partial<Record<Split, number>>;
  /** Images of the version left out because they carry no boxes (classification sources). */
  withoutAnnotations: number;
  /** DICOM images written as PNG. */
  renderedDicom: number;
  /** Label Studio: where the pre-annotations came from (`reference:<version>`, a model version), or null. */
  predictions: string | null;
  files: string[];
}

/** The default Label Studio image URL: local files served from a document root that holds the export folder. */
export const localFilesPrefix = (folderName: string) => `/data/local-files/?d=${folderName}/images/`;

interface Item {
  image: ManifestImage;
  /** The name the image is written under (DICOM → .png). */
  name: string;
  /** The version's reference boxes (score: reader agreement). */
  boxes: ScoredBox[];
  /** The model's boxes, when a prediction source was given. */
  predicted: ScoredBox[] | null;
}

export async function exportVersion(o: ExportOptions): Promise<ExportSummary> {
  const version = await getVersion(o.db, o.version);
  if (version.status !== 'ready') throw new ValidationError(`dataset version '${version.id}' is ${version.status}, not ready`);
  const annotations = await readAnnotations(o.objects, version.id);
  if (!annotations)
    throw new ValidationError(
      `dataset version '${version.id}' has no boxes (no annotations.jsonl): only a version built from a boxed sheet (VinDr, RSNA) can be exported`,
    );
  const noReference = annotations.find((a) => a.reference === null);
  if (noReference)
    throw new ValidationError(
      `dataset version '${version.id}' has reader boxes but no fused reference (e.g. ${noReference.objectKey}): build it with a 'detection: { fusion: … }' section`,
    );
  const byKey = new Map(annotations.map((a) => [a.objectKey, a]));
  const all = await listImages(o.db, version.id, o.split ? { split: o.split } : {});
  const images = all.filter((i) => byKey.has(i.objectKey));
  if (images.length === 0) throw new ValidationError(`dataset version '${version.id}' has no boxed images${o.split ? ` in split ${o.split}` : ''}`);

  const files: string[] = [];
  const add = async (name: string, data: string | Buffer) => {
    await o.writer.add(name, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    files.push(name);
  };
  const source = o.format === 'labelstudio' ? (o.predictions ?? 'reference') : 'reference';
  // One image at a time (read, write, predict): a real VinDr version does not fit in memory.
  const names = new Map<string, string>();
  const items: Item[] = [];
  let renderedDicom = 0;
  for (const image of images) {
    let bytes = await o.objects.getBytes(image.objectKey);
    let name = image.fileName;
    if (image.format === 'dicom') {
      bytes = await encodeGray(await decodeGrayscale(bytes), 'png');
      name = `${stemOf(name)}.png`;
      renderedDicom += 1;
    }
    const clash = names.get(stemOf(name));
    if (clash !== undefined) throw new ValidationError(`images '${clash}' and '${name}' would be written under one name`);
    names.set(stemOf(name), name);
    await add(`images/${image.split}/${name}`, bytes);
    const reference = byKey.get(image.objectKey)!.reference!.map((r) => ({ classId: r.classId, x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1, score: r.score }));
    const predicted = typeof source === 'object' ? await source.predict({ objectKey: image.objectKey, bytes, width: image.width, height: image.height }) : null;
    items.push({ image, name, boxes: reference, predicted });
    o.onProgress?.(items.length, images.length);
  }

  const splits: Partial<Record<Split, number>> = {};
  for (const s of SPLITS) {
    const n = items.filter((i) => i.image.split === s).length;
    if (n > 0) splits[s] = n;
  }
  const present = SPLITS.filter((s) => splits[s]);
  const imageBoxes = (it: Item): ImageBoxes => ({ imageId: it.name, width: it.image.width, height: it.image.height, boxes: it.boxes });
  let predictions: string | null = null;

  if (o.format === 'coco') {
    for (const s of present)
      await add(`annotations/instances_${s}.json`, `${JSON.stringify(toCoco(items.filter((i) => i.image.split === s).map(imageBoxes)))}\n`);
  } else if (o.format === 'yolo') {
    for (const it of items) await add(`labels/${it.image.split}/${stemOf(it.name)}.txt`, toYoloLabels(imageBoxes(it)));
    await add('data.yaml', `# secondread dataset version ${version.id}\n${present.map((s) => `${s}: images/${s}\n`).join('')}${yoloNames()}`);
  } else {
    const prefix = o.imageUrlPrefix ?? localFilesPrefix('export');
    const inputs = items.map((it) => ({
      imageId: it.name,
      imageUrl: `${prefix}${it.image.split}/${it.name}`,
      width: it.image.width,
      height: it.image.height,
      boxes: it.predicted ?? it.boxes,
    }));
    predictions = source === 'none' ? null : typeof source === 'object' ? source.modelVersion : `reference:${version.id}`;
    const tasks = toLabelStudioTasks(inputs, predictions ?? '').map((t, i) => ({
      ...(source === 'none' ? { data: t.data } : t),
      data: { ...t.data, split: items[i]!.image.split },
    }));
    await add('tasks.json', `${JSON.stringify(tasks, null, 1)}\n`);
    await add('labeling-config.xml', labelingConfig());
  }
  return {
    version: version.id,
    format: o.format,
    images: items.length,
    boxes: items.reduce((n, i) => n + (i.predicted ?? i.boxes).length, 0),
    splits,
    withoutAnnotations: all.length - images.length,
    renderedDicom,
    predictions,
    files,
  };
}
