// A simulated physician for policy fitting and the simulator: given a study's true class it answers
// a label, right with a configurable accuracy and, when wrong, wrong the way readers are wrong. The
// answer is a pure function of (seed, study key, truth), so a policy fitted on a split and a simulation
// replayed on it see the same reader, and a rerun gives the same figures.
import { ValidationError } from '../core/errors.js';
import { subSeed } from '../core/rng.js';
import { CLASS_MODALITY, classesOf, isSecondreadClass, NORMAL_CLASS, type SecondreadClass } from '../data/classes.js';

/**
 * How a wrong read is distributed over the other classes of the modality:
 * - `miss` (default): an abnormal study is called normal (the common, dangerous error: a missed
 *   finding); a normal study is called one of the modality's abnormal classes at random.
 * - `uniform`: any other class of the modality, equally likely.
 */
export const CONFUSION_PATTERNS = ['miss', 'uniform'] as const;
export type ConfusionPattern = (typeof CONFUSION_PATTERNS)[number];

export interface SimulatedReaderOptions {
  /** Probability of the right label, in [0, 1] (1 = ground truth, reader B's default). */
  accuracy: number;
  /** Per-class accuracy overriding `accuracy` for those classes (e.g. drusen is hard). */
  perClassAccuracy?: Partial<Record<SecondreadClass, number>>;
  confusion?: ConfusionPattern;
  /** Seed of the reader's draws (default 1); two readers with different seeds err on different studies. */
  seed?: number;
}

export class SimulatedReader {
  private readonly accuracy: number;
  private readonly perClass: Partial<Record<SecondreadClass, number>>;
  readonly confusion: ConfusionPattern;
  private readonly seed: number;

  constructor(o: SimulatedReaderOptions) {
    this.accuracy = assertProbability('reader accuracy', o.accuracy);
    this.perClass = {};
    for (const [cls, p] of Object.entries(o.perClassAccuracy ?? {})) {
      if (!isSecondreadClass(cls)) throw new ValidationError(`unknown class '${cls.slice(0, 40)}' in per-class reader accuracy`);
      this.perClass[cls] = assertProbability(`reader accuracy for ${cls}`, p as number);
    }
    this.confusion = o.confusion ?? 'miss';
    if (!(CONFUSION_PATTERNS as readonly string[]).includes(this.confusion)) {
      throw new ValidationError(`confusion pattern must be one of ${CONFUSION_PATTERNS.join(', ')}`);
    }
    this.seed = o.seed ?? 1;
    if (!Number.isInteger(this.seed)) throw new ValidationError('reader seed must be an integer');
  }

  /** The label this reader gives the study `key` (any stable id: image sha256, study id) whose truth is `truth`. */
  read(key: string, truth: SecondreadClass): SecondreadClass {
    const accuracy = this.perClass[truth] ?? this.accuracy;
    if (uniform(this.seed, key, 'correct') < accuracy) return truth;
    const options = this.wrongOptions(truth);
    return options[Math.floor(uniform(this.seed, key, 'which') * options.length)]!;
  }

  private wrongOptions(truth: SecondreadClass): SecondreadClass[] {
    const modality = CLASS_MODALITY[truth];
    const normal = NORMAL_CLASS[modality];
    if (this.confusion === 'miss' && truth !== normal) return [normal];
    return classesOf(modality).filter((c) => c !== truth);
  }
}

function assertProbability(what: string, p: number): number {
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1)
    throw new ValidationError(`${what} must be a number in [0, 1], got ${String(p).slice(0, 20)}`);
  return p;
}

/** A uniform draw in [0, 1) from the seed and keys (32-bit resolution is plenty for these rates). */
function uniform(seed: number, ...keys: string[]): number {
  return subSeed(seed, ...keys) / 0x1_0000_0000;
}
