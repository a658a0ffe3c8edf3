// One window against the reference: the family of two-sample tests, Holm-corrected at α.
//   confidence_ks      KS on the top-class calibrated probability (Rabanser et al. 2019: softmax-based tests were the
//                      strongest shift detectors)
//   class_chi2         chi-square on the predicted-class counts (BBSD, Lipton et al. 2018)
//   embedding_mmd      MMD with a permutation p-value on the pooled embeddings (skipped when the model has none)
//   intensity_mean_ks, intensity_std_ks, image_size_ks   KS on the image statistics (size = width × height)
// A test that cannot run (too few values on one side) is listed as skipped with its reason and leaves the family,
// so the correction is over the tests actually run.
import { chiSquareHomogeneity } from './stats/chi-square.js';
import { holmAdjust } from './stats/holm.js';
import { ksTwoSample } from './stats/ks.js';
import { mmdPermutationTest } from './stats/mmd.js';
import type { DriftObservation, DriftTestName, DriftTestResult, ImageStats, SkippedTest } from './types.js';

/** The reference side of a comparison (a profile's rows, filtered to the window's modality). */
export interface ReferenceSample {
  classes: readonly string[];
  topProbability: readonly number[];
  topClass: readonly string[];
  image: readonly ImageStats[];
  embeddings: readonly Float32Array[];
}

export interface CompareOptions {
  alpha: number;
  /** MMD permutations (default 200) and sample cap per side (default 200: the kernel matrix is (2·cap)²). */
  permutations?: number;
  mmdSampleCap?: number;
  seed?: number;
}

/** Fewer values than this on either side and a test is skipped. */
export const MIN_TEST_VALUES = 10;

export interface Comparison {
  tests: DriftTestResult[];
  skipped: SkippedTest[];
  detected: boolean;
}

export function compareWindow(ref: ReferenceSample, win: readonly DriftObservation[], o: CompareOptions): Comparison {
  const raw: { test: DriftTestName; statistic: number; pValue: number }[] = [];
  const skipped: SkippedTest[] = [];
  const enough = (test: DriftTestName, a: number, b: number): boolean => {
    if (a >= MIN_TEST_VALUES && b >= MIN_TEST_VALUES) return true;
    skipped.push({ test, reason: `${a} reference and ${b} window values; ${MIN_TEST_VALUES} needed on each side` });
    return false;
  };

  if (enough('confidence_ks', ref.topProbability.length, win.length)) {
    const r = ksTwoSample(
      ref.topProbability,
      win.map((w) => w.topProbability),
    );
    raw.push({ test: 'confidence_ks', statistic: r.statistic, pValue: r.pValue });
  }
  if (enough('class_chi2', ref.topClass.length, win.length)) {
    // Classes outside the profile's list (a different model's answers) get their own category.
    const cats = [...ref.classes, ...new Set(win.map((w) => w.topClass).filter((c) => !ref.classes.includes(c)))];
    const counts = (xs: readonly string[]): number[] => cats.map((c) => xs.filter((x) => x === c).length);
    const r = chiSquareHomogeneity(counts(ref.topClass), counts(win.map((w) => w.topClass)));
    raw.push({ test: 'class_chi2', statistic: r.statistic, pValue: r.pValue });
  }
  const winEmb = win.flatMap((w) => (w.embedding ? [w.embedding] : []));
  if (ref.embeddings.length === 0) skipped.push({ test: 'embedding_mmd', reason: 'the reference profile has no embeddings (the model exports none)' });
  else if (winEmb.length > 0 && winEmb[0]!.length !== ref.embeddings[0]!.length)
    skipped.push({ test: 'embedding_mmd', reason: `window embeddings have ${winEmb[0]!.length} dimensions, the profile's ${ref.embeddings[0]!.length}` });
  else if (enough('embedding_mmd', ref.embeddings.length, winEmb.length)) {
    const cap = o.mmdSampleCap ?? 200;
    const r = mmdPermutationTest(evenSample(ref.embeddings, cap), winEmb.slice(-cap), { permutations: o.permutations ?? 200, seed: o.seed });
    raw.push({ test: 'embedding_mmd', statistic: r.statistic, pValue: r.pValue });
  }
  const winImg = win.flatMap((w) => (w.image ? [w.image] : []));
  const imageTests: [DriftTestName, (s: ImageStats) => number][] = [
    ['intensity_mean_ks', (s) => s.mean],
    ['intensity_std_ks', (s) => s.std],
    ['image_size_ks', (s) => s.width * s.height],
  ];
  for (const [test, f] of imageTests) {
    if (!enough(test, ref.image.length, winImg.length)) continue;
    const r = ksTwoSample(ref.image.map(f), winImg.map(f));
    raw.push({ test, statistic: r.statistic, pValue: r.pValue });
  }

  const adjusted = holmAdjust(raw.map((t) => t.pValue));
  const tests = raw.map((t, i) => ({ ...t, adjustedPValue: adjusted[i]!, detected: adjusted[i]! <= o.alpha }));
  return { tests, skipped, detected: tests.some((t) => t.detected) };
}

/** At most `cap` items at an even stride (deterministic, spread over the whole list). */
export function evenSample<T>(xs: readonly T[], cap: number): T[] {
  if (xs.length <= cap) return [...xs];
  return Array.from({ length: cap }, (_, i) => xs[Math.floor((i * xs.length) / cap)]!);
}

/** CBPE (NannyML's confidence-based performance estimation): with calibrated probabilities the expected accuracy is the mean top-class probability. */
export function expectedAccuracy(win: readonly Pick<DriftObservation, 'topProbability'>[]): number | null {
  if (win.length === 0) return null;
  return win.reduce((s, w) => s + w.topProbability, 0) / win.length;
}
