// The bad candidate's training set (scenario step 7): a copy of a dataset version whose labels went through a
// misaligned label map — every class index shifted by 5 in the nine-class list (lung-normal → oct-normal, lung-covid
// → oct-cnv, …, lung-tuberculosis → lung-normal, oct-normal → lung-covid, …), the classic off-by-some bug of a label
// column. No image keeps its class and 8 of the 9 classes land in the other modality, so a model trained on it is
// confidently wrong. A new immutable version (its id hashes the source and the corruption) sharing the source's
// image objects — versions are immutable, so sharing is safe, as feedback versions share their base's.
import { canonicalJson } from '../../core/canonical-json.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { sha256Hex } from '../../core/ids.js';
import { SECONDREAD_CLASSES, type SecondreadClass } from '../../data/classes.js';
import { encodeManifest } from '../../data/datasets/manifest.js';
import { beginBuild, completeBuild, findVersion, getVersion, listImages } from '../../data/datasets/repository.js';
import type { ManifestImage } from '../../data/datasets/types.js';
import { manifestKey } from '../../data/etl/naming.js';
import type { Db } from '../../storage/db.js';
import type { ObjectStore } from '../../storage/object-store.js';

/** How far the misaligned label map shifts each class index (coprime with 9: a permutation with no fixed point). */
export const LABEL_SHIFT = 5;

/** The label a class's images get in the corrupted copy. */
export function misalignedClassOf(c: SecondreadClass): SecondreadClass {
  return SECONDREAD_CLASSES[(SECONDREAD_CLASSES.indexOf(c) + LABEL_SHIFT) % SECONDREAD_CLASSES.length]!;
}

export interface CorruptedVersion {
  versionId: string;
  source: string;
  images: number;
  /** The permutation applied: class → label written. */
  permutation: Record<string, string>;
}

export async function permuteLabels(deps: { db: Db; objects: ObjectStore; clock?: Clock }, source: string): Promise<CorruptedVersion> {
  const clock = deps.clock ?? systemClock;
  const src = await getVersion(deps.db, source);
  const images = await listImages(deps.db, src.id);
  const permutation: Record<string, string> = {};
  const out: ManifestImage[] = images.map((img) => {
    const to = misalignedClassOf(img.class);
    permutation[img.class] = to;
    return { ...img, class: to };
  });
  const inputs = { kind: 'corrupted-labels', source: src.id, corruption: `class-index-shift-${LABEL_SHIFT}` };
  const id = `ds-${sha256Hex(canonicalJson(inputs)).slice(0, 20)}`;
  const existing = await findVersion(deps.db, id);
  if (existing?.status !== 'ready') {
    await beginBuild(deps.db, { id, name: `labels misaligned (${src.id})`, inputs, now: clock.now().toISOString() });
    await deps.objects.put(manifestKey(id), encodeManifest(out), { contentType: 'application/x-ndjson' });
    await completeBuild(deps.db, id, out, { kind: 'corrupted-labels', source: src.id, images: out.length, permutation }, clock.now().toISOString());
  }
  return { versionId: id, source: src.id, images: out.length, permutation };
}
