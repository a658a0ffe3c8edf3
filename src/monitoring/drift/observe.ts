// What one production read contributes to the drift monitor: the model's top class and probability, the image
// statistics of the input measured exactly as the ETL measures every dataset image (decodeGrayscale →
// intensityStats, so the reference profile's statistics — read from the manifest — are comparable), and the
// embedding when the model exports one.
import type { ClassProbability } from '../../core/probabilities.js';
import { decodeGrayscale } from '../../data/images/decode.js';
import { intensityStats } from '../../data/images/intensity.js';
import type { Db } from '../../storage/db.js';
import { recordObservation } from './store.js';
import type { ImageStats } from './types.js';

/** The image statistics the drift monitor compares: intensity mean/std of the decoded 8-bit grey image, its size. */
export async function imageStats(bytes: Uint8Array): Promise<ImageStats> {
  const img = await decodeGrayscale(bytes);
  const s = intensityStats(img.data);
  return { mean: s.mean, std: s.std, width: img.width, height: img.height };
}

export interface ObservedRead {
  studyId: string | null;
  model: string;
  version: number;
  modality: string;
  top: ClassProbability;
  /** The image the model read (PNG/JPEG/DICOM bytes). */
  image: Uint8Array;
  embedding?: Float32Array | null;
  at: string;
}

/** Measures the image and records the read as a drift observation. */
export async function observeRead(db: Db, r: ObservedRead): Promise<string> {
  return recordObservation(db, {
    studyId: r.studyId,
    model: r.model,
    version: r.version,
    modality: r.modality,
    topClass: r.top.class,
    topProbability: r.top.probability,
    image: await imageStats(r.image),
    embedding: r.embedding ?? null,
    at: r.at,
  });
}
