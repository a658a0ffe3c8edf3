// manifest.jsonl: one JSON object per line, one line per image, sorted by object key, written beside
// the images (datasets/<version>/manifest.jsonl). Keys are snake_case like the DB columns, so the file
// reads the same in Python (pandas.read_json(lines=True)) as in SQL.
import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { SECONDREAD_CLASSES } from '../classes.js';
import { SPLITS, type ManifestImage } from './types.js';

const lineSchema = z
  .object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    object_key: z.string().min(1),
    file_name: z.string().min(1),
    dataset: z.string().min(1),
    source_archive: z.string(),
    archive_sha256: z.string(),
    entry_path: z.string(),
    source_class: z.string(),
    class: z.enum(SECONDREAD_CLASSES),
    split: z.enum(SPLITS),
    final_eval: z.boolean(),
    patient_key: z.string().nullable(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    bytes: z.number().int().nonnegative(),
    format: z.string(),
    bit_depth: z.number().int(),
    mean_intensity: z.number(),
    std_intensity: z.number(),
  })
  .strict();

type ManifestLine = z.infer<typeof lineSchema>;

export function toManifestLine(i: ManifestImage): string {
  const line: ManifestLine = {
    sha256: i.sha256,
    object_key: i.objectKey,
    file_name: i.fileName,
    dataset: i.dataset,
    source_archive: i.sourceArchive,
    archive_sha256: i.archiveSha256,
    entry_path: i.entryPath,
    source_class: i.sourceClass,
    class: i.class,
    split: i.split,
    final_eval: i.finalEval,
    patient_key: i.patientKey,
    width: i.width,
    height: i.height,
    bytes: i.bytes,
    format: i.format,
    bit_depth: i.bitDepth,
    mean_intensity: i.meanIntensity,
    std_intensity: i.stdIntensity,
  };
  return JSON.stringify(line);
}

export function encodeManifest(images: readonly ManifestImage[]): string {
  return images.map((i) => `${toManifestLine(i)}\n`).join('');
}

/** Parses manifest.jsonl text; ValidationError names the first bad line. */
export function parseManifest(text: string, source = 'manifest.jsonl'): ManifestImage[] {
  const out: ManifestImage[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, n) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ValidationError(`${source}:${n + 1}: not valid JSON`);
    }
    const r = lineSchema.safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new ValidationError(`${source}:${n + 1}: ${issue.path.join('.') || '(line)'}: ${issue.message}`);
    }
    const l = r.data;
    out.push({
      sha256: l.sha256,
      objectKey: l.object_key,
      fileName: l.file_name,
      dataset: l.dataset,
      sourceArchive: l.source_archive,
      archiveSha256: l.archive_sha256,
      entryPath: l.entry_path,
      sourceClass: l.source_class,
      class: l.class,
      split: l.split,
      finalEval: l.final_eval,
      patientKey: l.patient_key,
      width: l.width,
      height: l.height,
      bytes: l.bytes,
      format: l.format,
      bitDepth: l.bit_depth,
      meanIntensity: l.mean_intensity,
      stdIntensity: l.std_intensity,
    });
  });
  return out;
}
