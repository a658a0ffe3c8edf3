// Who may see what of a study. Reader A must not see the model's opinion before committing a read
// (anchoring bias): the service builds every study view here, so the API cannot leak it by accident.
//   reader        — before A's read: the study and its image only; after: everything but the truth
//   adjudicator   — everything but the truth (B sees A's read and the model's probabilities)
//   ml-engineer, admin — everything, including the simulation's truth class
// The detector's boxes (boxes.ts) are part of the model's read: withheld from reader A with it.
import type { ReadsTable, StudiesTable } from '../storage/schema.js';
import { detectionsOf, type StudyBoxes } from './boxes.js';
import type { Role } from './users.js';
export type { BoxMarkView, ClassProbability, HumanReadView, ModelDetection, ModelReadView, StudyView } from './views.js';
import type { ClassProbability, StudyView } from './views.js';

/** What `user` may see of a study, given its row, its reads and (CXR with a detector) its box read. */
export function studyView(role: Role, s: StudiesTable, reads: readonly ReadsTable[], boxes?: StudyBoxes): StudyView {
  const byReader = new Map(reads.map((r) => [r.reader, r]));
  const a = byReader.get('A');
  const blinded = role === 'reader' && !a;
  const view: StudyView = {
    id: s.id,
    modality: s.modality,
    source: s.source,
    datasetVersion: s.dataset_version,
    imageKey: s.image_key,
    status: s.status,
    priority: s.priority === 1,
    createdAt: s.created_at,
    blinded,
    reads: {},
    finalLabel: s.final_label,
    finalizedAt: s.finalized_at,
  };
  if (blinded) return view;
  for (const who of ['A', 'B'] as const) {
    const r = byReader.get(who);
    if (r) view.reads[who] = { label: r.label, userId: r.user_id, at: r.created_at };
  }
  const m = byReader.get('model');
  if (m) {
    const predictions = JSON.parse(m.probabilities_json ?? '[]') as ClassProbability[];
    view.reads.model = {
      model: s.model_name,
      version: s.model_version,
      label: m.label,
      top: predictions[0] ?? { class: m.label, probability: Number.NaN },
      predictions,
      at: m.created_at,
    };
  }
  const box = boxes?.read;
  if (box) {
    const detector = box.model_name !== null && box.model_version !== null ? { name: box.model_name, version: box.model_version } : null;
    const detections = detectionsOf(box);
    view.boxRead = { status: box.status === 'read' ? 'read' : 'failed', detector, boxes: detections.length };
    if (view.reads.model && box.status === 'read') {
      view.reads.model.detections = detections;
      if (detector) view.reads.model.detector = detector;
      view.reads.model.boxMarks = (boxes?.marks ?? []).map((k) => ({ index: k.box_index, correct: k.correct === 1, userId: k.user_id, at: k.created_at }));
    }
  }
  view.model = s.model_name !== null && s.model_version !== null ? { name: s.model_name, version: s.model_version } : null;
  if (s.decision !== null) {
    view.decision = {
      decision: s.decision,
      reasons: JSON.parse(s.decision_reasons_json ?? '[]') as string[],
      qa: s.qa === 1,
      policyId: s.policy_id,
      decidedAt: s.decided_at,
    };
  }
  if (role === 'admin' || role === 'ml-engineer') view.truthClass = s.truth_class;
  return view;
}
