// `secondread data export --format coco|yolo|labelstudio --dataset VERSION --out DIR|FILE.zip`: a detection
// dataset version's images and reference boxes as files COCO tools, Ultralytics YOLO or Label Studio load.
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';

import { type Command, Option } from 'commander';

import { ValidationError } from '../../core/errors.js';
import { resolveVersionRef } from '../../data/datasets/repository.js';
import { type Split, SPLITS } from '../../data/datasets/types.js';
import { exportVersion, localFilesPrefix, type PredictionSource } from '../../data/detection/formats/export-version.js';
import { createFolderWriter } from '../../data/detection/formats/folder-writer.js';
import { EXCHANGE_FORMATS, type ExchangeFormat } from '../../data/detection/formats/read-import.js';
import { detectionClassId } from '../../data/detection/types.js';
import { createZipWriter } from '../../data/synth/archive-writer.js';
import { toServedDetections } from '../../serving/detections.js';
import { type LoadedModel, ModelRegistry, Tracker } from '../../tracking/index.js';
import { imageToInput } from '../../tracking/model-input.js';
import { withContext } from '../context.js';
import { createProgressRenderer } from '../progress.js';
import { dataCommand } from './data-group.js';

const HELP_AFTER = `
What is written (images under images/<split>/, DICOM rendered to 8-bit PNG; boxes = the version's fused
reference, in original-image pixels):
  coco         annotations/instances_<split>.json   (bbox [x, y, w, h] px, categories 1…14 by name)
  yolo         labels/<split>/<name>.txt, data.yaml  (class cx cy w h as fractions; Ultralytics layout)
  labelstudio  tasks.json, labeling-config.xml       (one task per image; boxes as "predictions", i.e.
               pre-annotations the radiologist corrects: RectangleLabels in percent of the image)

Label Studio pre-annotations: with --with-model, a registered detector's boxes (model_version
"<name>@<version>", its scores, the same thresholds and letterbox as serving); otherwise the version's own
reference boxes (model_version "reference:<version>", score = the fraction of readers who drew the box —
not a model's predictions); --no-predictions leaves them out.
Images load from --image-url (default /data/local-files/?d=<out folder name>/images/): start Label
Studio with LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT set
to the folder that holds the export, add a local-files storage for it, paste labeling-config.xml as the
labelling interface and import tasks.json.

Bring the corrected labels back with \`secondread data import --format <format> <path> --base <version>\`.

Examples:
  secondread data export --format labelstudio --dataset ds-3f9a --split val --out /srv/ls/cxr-val
  secondread data export --format yolo --dataset ds-3f9a --out /tmp/cxr-yolo.zip`;

interface ExportFlags {
  format: ExchangeFormat;
  dataset: string;
  split?: Split;
  out: string;
  imageUrl?: string;
  predictions: boolean;
  withModel?: string;
  json?: boolean;
}

/** `name`, `name@alias` or `name@version`. */
function parseModelSpec(spec: string): { name: string; ref: { alias?: string; version?: number } } {
  const [name, ref, extra] = spec.split('@');
  if (!name || extra !== undefined) throw new ValidationError(`--with-model takes <model>[@<alias>|@<version>], got '${spec}'`);
  if (ref === undefined || ref === '') return { name, ref: {} };
  return { name, ref: /^\d+$/.test(ref) ? { version: Number(ref) } : { alias: ref } };
}

/** A registered detector as the export's prediction source: boxes in each image's own pixels, as serving gives them. */
function detectorPredictions(model: LoadedModel): PredictionSource {
  const meta = model.metadata;
  if (!meta.detection) throw new ValidationError(`${model.name} version ${model.version} is a classifier: Label Studio pre-annotations need a detector`);
  const unknown = meta.classes.filter((c) => detectionClassId(c) === undefined);
  if (unknown.length) throw new ValidationError(`${model.name} version ${model.version} boxes classes outside the 14 VinDr findings: ${unknown.join(', ')}`);
  return {
    modelVersion: `${model.name}@${model.version}`,
    async predict({ bytes, width, height }) {
      const { detections } = await model.forward(await imageToInput(bytes, meta.preprocessing), 1);
      return toServedDetections(detections?.[0] ?? [], meta.classes, { width, height }, meta.preprocessing.size).map((d) => ({
        classId: detectionClassId(d.class)!,
        x0: d.box[0],
        y0: d.box[1],
        x1: d.box[2],
        y1: d.box[3],
        score: d.score,
      }));
    },
  };
}

export function registerDataExport(program: Command): void {
  dataCommand(program)
    .command('export')
    .description('write a detection dataset version (images + reference boxes) as COCO, YOLO or Label Studio files for annotation tools')
    .addOption(new Option('--format <format>', "the tool's format").choices(EXCHANGE_FORMATS).makeOptionMandatory())
    .requiredOption('--dataset <version>', 'dataset version (id or unique prefix); it must carry boxes with a fused reference')
    .requiredOption('--out <path>', 'a new or empty folder, or a file ending in .zip')
    .addOption(new Option('--split <split>', 'only this split (default: all, each in its own folder / file)').choices(SPLITS))
    .option('--image-url <prefix>', 'labelstudio: URL prefix tasks load images from (<split>/<file> is appended)')
    .option('--with-model <model>', 'labelstudio: pre-annotations from this registered detector (<name>[@<alias>|@<version>]) instead of the reference')
    .option('--no-predictions', 'labelstudio: write tasks without pre-annotations')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: ExportFlags) => {
      await withContext(async (ctx) => {
        const db = await ctx.db();
        const version = await resolveVersionRef(db, flags.dataset);
        if (flags.withModel && flags.format !== 'labelstudio') throw new ValidationError('--with-model is for --format labelstudio (pre-annotations)');
        if (flags.withModel && !flags.predictions) throw new ValidationError('--with-model and --no-predictions contradict each other');
        let model: LoadedModel | undefined;
        if (flags.withModel) {
          const { name, ref } = parseModelSpec(flags.withModel);
          model = await new ModelRegistry(db, ctx.objects(), new Tracker(db, ctx.objects())).loadForInference(name, ref);
        }
        const zip = flags.out.toLowerCase().endsWith('.zip');
        if (zip && (await stat(flags.out).catch(() => null))) throw new ValidationError(`${flags.out} exists: an export writes a new file`);
        const existed = !zip && (await stat(flags.out).catch(() => null)) !== null;
        const writer = zip ? createZipWriter(flags.out) : await createFolderWriter(flags.out);
        const progress = createProgressRenderer();
        let summary;
        try {
          summary = await exportVersion({
            db,
            objects: ctx.objects(),
            version,
            format: flags.format,
            split: flags.split,
            writer,
            imageUrlPrefix: flags.imageUrl ?? localFilesPrefix(basename(flags.out).replace(/\.zip$/i, '')),
            predictions: model ? detectorPredictions(model) : flags.predictions ? 'reference' : 'none',
            onProgress: (done, total) => progress.onProgress({ phase: 'export', done, total }),
          });
        } catch (err) {
          // No half-written export: what this run created goes.
          await writer.finish().catch(() => undefined);
          await rm(flags.out, { recursive: true, force: true });
          if (existed) await mkdir(flags.out);
          throw err;
        } finally {
          progress.stop();
          await model?.close();
        }
        await writer.finish();
        if (flags.json) {
          const { files, ...rest } = summary;
          process.stdout.write(`${JSON.stringify({ ...rest, out: flags.out, files: files.length }, null, 2)}\n`);
          return;
        }
        const splits = Object.entries(summary.splits)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ');
        process.stdout.write(
          [
            `exported ${summary.images} images with ${summary.boxes} boxes of ${summary.version} as ${summary.format} to ${flags.out} (${splits})`,
            ...(summary.withoutAnnotations ? [`left out: ${summary.withoutAnnotations} images without boxes (classification sources)`] : []),
            ...(summary.renderedDicom ? [`${summary.renderedDicom} DICOM images written as PNG`] : []),
            ...(summary.format === 'labelstudio' ? [`pre-annotations: ${summary.predictions ?? 'none'}`] : []),
          ].join('\n') + '\n',
        );
      });
    });
}
