// What a feedback dataset is made of: finalized studies of the reading workflow, each with the label the
// department settled on and who settled it. The workflow layer selects them (workflow/feedback.ts); this layer
// only turns them into a dataset version, so data/ never reads the workflow's tables itself.
import type { SecondreadClass } from '../classes.js';

/**
 * Who gave the final label:
 * - `B`: an adjudicated second read (disagreement, low confidence, an always-double-read class);
 * - `QA`: a QA sample — a study A and the model agreed on under the policy, sent to B anyway; B's label is final
 *   (`qaConfirmed`: B agreed with A, so the A+model agreement was confirmed);
 * - `A+model`: auto-finalized by A and the model agreeing, never seen by B (only on request: such labels repeat
 *   the model's own mistakes back to it).
 */
export const LABELLED_BY = ['B', 'QA', 'A+model'] as const;
export type LabelledBy = (typeof LABELLED_BY)[number];

export interface FeedbackStudy {
  studyId: string;
  /** The study's image in the object store (chosen by the server at intake, never from input). */
  imageKey: string;
  finalLabel: SecondreadClass;
  labelledBy: LabelledBy;
  /** B agreed with A on a QA sample (null unless labelledBy is QA). */
  qaConfirmed: boolean | null;
  /** The pseudonymous patient key (DICOM studies, or the dataset row a simulated study came from); null: unknown. */
  patientKey: string | null;
  finalizedAt: string;
  reads: { A: string | null; model: string | null; B: string | null };
  model: { name: string; version: number } | null;
  /** Reader B's marks on the detector's boxes (CXR studies a detector read); absent when B marked none. */
  boxLabels?: BoxLabel[];
}

/**
 * One of the detector's boxes as reader B marked it, in the ORIGINAL image's pixels: `correct` boxes become
 * box labels (the reference) of the feedback version's annotations.jsonl; incorrect ones are kept in the
 * lineage as the model's confirmed false positives.
 */
export interface BoxLabel {
  class: string;
  score: number;
  box: [number, number, number, number];
  correct: boolean;
  detector: { name: string; version: number } | null;
}

/** One line of datasets/<version>/lineage.jsonl: where a feedback image and its label came from. */
export interface FeedbackLineage {
  sha256: string;
  object_key: string;
  study_id: string;
  final_label: SecondreadClass;
  labelled_by: LabelledBy;
  qa_confirmed: boolean | null;
  reads: { A: string | null; model: string | null; B: string | null };
  model: { name: string; version: number } | null;
  finalized_at: string;
  /** Reader B's marks on the detector's boxes (only when B marked some). */
  box_labels?: BoxLabel[];
}
