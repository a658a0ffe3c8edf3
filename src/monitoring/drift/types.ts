// The drift monitor's records: what one production read contributes (an observation), which reads form a window,
// one test's outcome, and a check (a window against the model version's reference profile). The alarm the retrain
// trigger reacts to is alarms.ts.

export const DRIFT_TESTS = ['confidence_ks', 'class_chi2', 'embedding_mmd', 'intensity_mean_ks', 'intensity_std_ks', 'image_size_ks'] as const;
export type DriftTestName = (typeof DRIFT_TESTS)[number];

export const MODALITIES = ['cxr', 'oct'] as const;
/** A window holds one modality's reads, or all of them. */
export type WindowModality = (typeof MODALITIES)[number] | 'all';

/** The last `size` reads, or the reads of the last `seconds` (both per model version and modality). */
export type WindowSpec = { kind: 'count'; size: number } | { kind: 'time'; seconds: number };

export interface ImageStats {
  /** Mean and standard deviation of the decoded 8-bit grey image (0…255). */
  mean: number;
  std: number;
  width: number;
  height: number;
}

export interface DriftObservation {
  studyId: string | null;
  model: string;
  version: number;
  modality: string;
  topClass: string;
  topProbability: number;
  image: ImageStats | null;
  embedding: Float32Array | null;
  at: string;
}

export interface DriftTestResult {
  test: DriftTestName;
  statistic: number;
  pValue: number;
  /** Holm-adjusted over the tests this check ran. */
  adjustedPValue: number;
  detected: boolean;
}

/** A test that could not run on this window, and why (e.g. the model exports no embedding). */
export interface SkippedTest {
  test: DriftTestName;
  reason: string;
}

export interface DriftCheck {
  id: string;
  model: string;
  version: number;
  modality: WindowModality;
  window: { kind: WindowSpec['kind']; start: string; end: string; observations: number };
  alpha: number;
  correction: 'holm';
  tests: DriftTestResult[];
  skipped: SkippedTest[];
  detected: boolean;
  /** CBPE: the expected accuracy, the mean top-class calibrated probability over the window. */
  estimatedAccuracy: number | null;
  /** Share of the window's studies where reader A's label equals the model's top class; null before any A read. */
  realizedAgreement: number | null;
  agreementReads: number;
  createdBy: string;
  createdAt: string;
}
