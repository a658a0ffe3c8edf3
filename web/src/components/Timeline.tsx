// A study's history from its audit trail (intake, model read, reads A and B, decision, finalization),
// oldest first, each entry with who, when, and its recorded payload on request.
import type { AuditEntry } from '../api/types.js';
import { className, dateTime, percent } from '../lib/format.js';
import { reasonText } from './DecisionPanel.js';

type Payload = Record<string, unknown>;

const str = (x: unknown): string => (typeof x === 'string' ? x : x === undefined || x === null ? '—' : JSON.stringify(x));

/** One line saying what the entry records. */
export function describeEntry(e: AuditEntry): string {
  const p = (e.payload ?? {}) as Payload;
  switch (e.event) {
    case 'study.intake':
      return `Study taken in (${str(p.modality)}${p.priority ? ', priority' : ''})`;
    case 'read.model': {
      const top = (p.top ?? {}) as Payload;
      return `Model read: ${className(str(top.class))} at ${percent(typeof top.probability === 'number' ? top.probability : null)}`;
    }
    case 'read.model_failed':
      return `Model read failed: ${str(p.error ?? p.message)}`;
    case 'read.A':
      return `Read A: ${className(str(p.label))}`;
    case 'read.B':
      return `Read B: ${className(str(p.label))}${p.agreesWithA === false ? ' (differs from A)' : ''}`;
    case 'decision': {
      const reasons = Array.isArray(p.reasons) ? (p.reasons as string[]).map(reasonText).join('; ') : '';
      return `Decision: ${str(p.decision).replace(/_/g, ' ')}${reasons ? ` — ${reasons}` : ''}${p.qa ? ' (QA sample)' : ''}`;
    }
    case 'study.finalized':
      return `Finalized: ${className(str(p.finalLabel ?? p.label))}${p.by ? ` by ${str(p.by)}` : ''}`;
    default:
      return e.event;
  }
}

export function Timeline({ entries }: { entries: AuditEntry[] }) {
  if (entries.length === 0) return <p className="muted">No audit entries.</p>;
  return (
    <ol className="timeline" data-testid="timeline">
      {entries.map((e) => (
        <li key={e.seq} data-testid="timeline-entry" data-event={e.event}>
          <div className="timeline-head">
            <span className="timeline-what">{describeEntry(e)}</span>
            <span className="muted small">
              {' '}
              · {e.actor} · <time dateTime={e.at}>{dateTime(e.at)}</time> · #{e.seq}
            </span>
          </div>
          <details>
            <summary>Recorded payload</summary>
            <pre>{JSON.stringify(e.payload ?? {}, null, 2)}</pre>
            {e.hash && <p className="muted small mono">hash {e.hash}</p>}
          </details>
        </li>
      ))}
    </ol>
  );
}
