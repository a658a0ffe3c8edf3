// The drift tests' fixture: the evaluation fixture (brightness classifier 'brightness' v1, production; its answer
// follows from an image's grey value) plus a dataset version whose validation split is the reference a drift
// profile is computed from. The tests differ only in that split, so it is the one argument.
import { BRIGHTNESS_CLASSES, type EvaluationFixture, type FixtureImage, openEvaluationFixture, publishTinyVersion } from '../evaluations/testing.js';

export interface DriftFixture extends EvaluationFixture {
  /** The published version holding the validation split given to openDriftFixture. */
  valVersion: string;
}

export async function openDriftFixture(val: readonly FixtureImage[]): Promise<DriftFixture> {
  const f = await openEvaluationFixture();
  try {
    return { ...f, valVersion: await publishTinyVersion(f.db, f.objects, val) };
  } catch (err) {
    await f.close();
    throw err;
  }
}

/** `n` validation images of the brightness classifier's classes in turn, grey values `first`, `first + step`, … */
export function cyclingValSplit(n: number, first: number, step: number): FixtureImage[] {
  return Array.from({ length: n }, (_, i) => ({ class: BRIGHTNESS_CLASSES[i % BRIGHTNESS_CLASSES.length]!, split: 'val', value: first + i * step }));
}
