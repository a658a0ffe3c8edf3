// What the workflow shows of itself: the study view per role, worklist items and the metrics, as the
// API sends them. Types only, importing nothing with a runtime, so the web UI (web/src/api/types.ts)
// checks its client against these very declarations without pulling server code into the browser.
import type { ClassProbability } from '../core/probabilities.js';
import type { Modality } from '../data/classes.js';

export type { ClassProbability } from '../core/probabilities.js';

export interface HumanReadView {
  label: string;
  userId: string | null;
  at: string;
}

/** One box the detector found, in the ORIGINAL image's pixels (x0, y0, x1, y1; corners continuous). */
export interface ModelDetection {
  class: string;
  score: number;
  box: [number, number, number, number];
}

/** Reader B's verdict on one of the model's boxes (`index` into `detections`); the latest mark counts. */
export interface BoxMarkView {
  index: number;
  correct: boolean;
  userId: string;
  at: string;
}

export interface ModelReadView {
  model: string | null;
  version: number | null;
  label: string;
  top: ClassProbability;
  predictions: ClassProbability[];
  at: string;
  /** The detector's boxes (CXR studies, when a detector is configured and its read succeeded), best first. */
  detections?: ModelDetection[];
  /** The detector version that drew them. */
  detector?: { name: string; version: number };
  /** Reader B's marks on the boxes (correct / incorrect), by box index. */
  boxMarks?: BoxMarkView[];
}

export interface StudyView {
  id: string;
  modality: string;
  source: string;
  datasetVersion: string | null;
  imageKey: string;
  status: string;
  priority: boolean;
  createdAt: string;
  /** True when something was withheld from this user (the model read and decision, before A's read). */
  blinded: boolean;
  reads: { A?: HumanReadView; B?: HumanReadView; model?: ModelReadView };
  /** The model version that read the study at intake (null: its read failed). Absent when blinded. */
  model?: { name: string; version: number } | null;
  /** Absent when blinded or not decided yet. */
  decision?: { decision: string; reasons: string[]; qa: boolean; policyId: string | null; decidedAt: string | null };
  finalLabel: string | null;
  finalizedAt: string | null;
  /** Ground truth (simulation only), for ml-engineer and admin. */
  truthClass?: string | null;
  /**
   * The detector's read of a CXR study when a detector was configured at intake: `read` (its boxes are in
   * reads.model.detections) or `failed` (no boxes; the intake went on). Absent when blinded or no detector read.
   */
  boxRead?: { status: 'read' | 'failed'; detector: { name: string; version: number } | null; boxes: number };
}

export interface WorklistItem {
  id: string;
  modality: string;
  priority: boolean;
  createdAt: string;
  status: string;
}

export interface Economics {
  /** Physician minutes one read takes, per modality. */
  minutesPerRead: Record<Modality, number>;
  /** What one physician read costs, per modality (in `currency`). */
  costPerRead: Record<Modality, number>;
  /** What one model read costs (compute), per study. */
  inferenceCostPerStudy: number;
  currency: string;
}

export interface Rate {
  numerator: number;
  denominator: number;
  /** null when the denominator is 0 (no evidence, which is not the same as 0). */
  rate: number | null;
}

export interface WorkflowMetrics {
  since: string | null;
  studies: number;
  decided: number;
  autoFinalized: number;
  secondRead: number;
  qaSampled: number;
  adjudicated: number;
  secondReviewReduction: Rate;
  falseClear: { qa: Rate; truth: Rate };
  agreementByClass: ({ class: string } & Rate)[];
  turnaroundSeconds: { count: number; mean: number | null; median: number | null; p90: number | null };
  worklistDepth: { A: number; B: number; qaInB: number };
  savings: {
    economics: Economics;
    minutesSaved: number;
    costSaved: number;
    costSavedPerScan: number | null;
    byModality: Record<Modality, { autoFinalized: number; modelReads: number; minutesSaved: number; costSaved: number }>;
  };
}
