// manifest.jsonl: one JSON object per line, one line per image, sorted by object key, written beside
// the images (datasets/<version>/manifest.jsonl). Keys are snake_case like the DB columns, so the file
// reads the same in Python (pandas.read_json(lines=True)) as in SQL.
import { z } from 'zod';

import { ValidationError } from '../../core/errors.js';
import { SECONDREAD_CLASSES } from '../classes.js';
import { fromImageRow, toImageRow } from './rows.js';
import { type ManifestImage, SPLITS } from './types.js';

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

/** A manifest line is a DB row without the version id, with final_eval as a JSON boolean. */
export function toManifestLine(i: ManifestImage): string {
  const { version_id: _v, final_eval: _f, ...row } = toImageRow('', i);
  return JSON.stringify({ ...row, final_eval: i.finalEval });
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
    out.push(fromImageRow({ ...r.data, version_id: '', final_eval: r.data.final_eval ? 1 : 0 }));
  });
  return out;
}
