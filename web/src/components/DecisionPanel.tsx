// What happened to a study once the model's read may be shown: the reads, the model's probabilities,
// the policy's decision and its reasons, the final label. It renders what the API sent — the API
// decides what a role may see (blinding); a blinded view simply has nothing here to show.
import type { StudyView } from '../api/types.js';
import { className, dateTime, percent } from '../lib/format.js';
import { BarList } from './charts/BarList.js';
import { Badge, Facts } from './ui.js';

const REASONS: Record<string, string> = {
  disagreement: 'reader A and the model disagree',
  low_confidence: "the model's confidence is under the class threshold",
  no_threshold: 'the class has no threshold in the policy',
  always_double_read: 'the class is always double-read',
  qa_sample: 'quality-assurance sample of a would-be auto-finalized study',
  no_model_read: 'the model could not read the study',
  no_policy: 'no policy is in force for this model version',
};

const DECISIONS: Record<string, string> = {
  auto_finalized: 'Auto-finalized: reader A and the model agree under the policy',
  second_read: 'Sent to a second read (reader B)',
  adjudicated: 'Adjudicated by reader B',
};

export function reasonText(r: string): string {
  return REASONS[r] ?? r.replace(/_/g, ' ');
}

export function ModelProbabilities({ study }: { study: StudyView }) {
  const m = study.reads.model;
  if (!m) return <p className="muted">{study.model === null ? 'The model could not read this study.' : 'No model read.'}</p>;
  return (
    <BarList
      title={`Model ${m.model ?? '?'} v${m.version ?? '?'}: probabilities`}
      testId="model-probabilities"
      max={1}
      bars={m.predictions.map((p) => ({
        key: p.class,
        label: className(p.class),
        value: p.probability,
        display: percent(p.probability),
        highlight: p.class === m.top.class,
      }))}
    />
  );
}

/** `probabilities: false` where the page already shows them (reader B's context panel): one list, one test id. */
export function DecisionPanel({ study, probabilities = true }: { study: StudyView; probabilities?: boolean }) {
  if (study.blinded) return null;
  const { A, B, model } = study.reads;
  return (
    <section className="panel decision-panel" data-testid="decision-panel" aria-labelledby="decision-title">
      <h2 id="decision-title" tabIndex={-1}>
        Decision
      </h2>
      <p className="decision" data-testid="decision-text">
        {study.decision ? (
          <Badge kind={study.status === 'adjudicated' ? 'adjudicated' : study.decision.decision}>
            {DECISIONS[study.status === 'adjudicated' ? 'adjudicated' : study.decision.decision] ?? study.decision.decision}
          </Badge>
        ) : (
          'Not decided yet.'
        )}
        {study.decision?.qa && <Badge kind="qa">QA sample</Badge>}
      </p>
      {study.decision && study.decision.reasons.length > 0 && (
        <ul className="reasons" data-testid="decision-reasons">
          {study.decision.reasons.map((r) => (
            <li key={r}>{reasonText(r)}</li>
          ))}
        </ul>
      )}
      <Facts
        items={[
          ['Read A', A ? `${className(A.label)} (${A.label})` : '—'],
          ['Model', model ? `${className(model.top.class)} · ${percent(model.top.probability)}` : study.model === null ? 'no model read' : '—'],
          ['Read B', B ? `${className(B.label)} (${B.label})` : '—'],
          ['Final label', study.finalLabel ? <strong data-testid="final-label">{`${className(study.finalLabel)} (${study.finalLabel})`}</strong> : 'pending'],
          ['Finalized', dateTime(study.finalizedAt)],
          ...(study.truthClass !== undefined ? ([['Truth (simulation)', study.truthClass ?? '—']] as [string, string][]) : []),
        ]}
      />
      {probabilities && <ModelProbabilities study={study} />}
    </section>
  );
}
