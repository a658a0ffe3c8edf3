// The detector's boxes beside the viewer: a checkbox per class present (hides or shows its boxes on the
// image), the boxes best first with class and score, and — for reader B — a Correct / Incorrect pair per box
// (the verdict the API stores as a box label). Only rendered for a view that carries the model read, so never
// for reader A before her commit (the API withholds the boxes with the read).
import type { StudyView } from '../api/types.js';
import { boxCaption, classColor, classesPresent, type ViewerBox } from '../lib/boxes.js';

export interface BoxesPanelProps {
  study: StudyView;
  boxes: readonly ViewerBox[];
  hidden: ReadonlySet<string>;
  onToggle: (cls: string) => void;
  /** Present when this user may mark boxes now (reader B on a study at B or adjudicated). */
  onMark?: (index: number, correct: boolean) => void;
  /** A mark in flight: its buttons are disabled. */
  busyIndex?: number | null;
}

export function BoxesPanel({ study, boxes, hidden, onToggle, onMark, busyIndex = null }: BoxesPanelProps) {
  if (study.blinded || !study.boxRead) return null;
  return (
    <section className="panel" aria-labelledby="boxes-title" data-testid="boxes-panel">
      <h2 id="boxes-title">Findings the model boxed</h2>
      {study.boxRead.status === 'failed' ? (
        <p className="muted" data-testid="boxes-failed">
          The detector’s read failed for this study: no boxes.
        </p>
      ) : boxes.length === 0 ? (
        <p className="muted" data-testid="boxes-none">
          The detector {study.boxRead.detector ? `(${study.boxRead.detector.name} v${study.boxRead.detector.version}) ` : ''}found nothing to box.
        </p>
      ) : (
        <>
          <fieldset className="box-classes">
            <legend className="muted">Show on the image</legend>
            {classesPresent(boxes).map((c) => (
              <label key={c.class}>
                <input type="checkbox" checked={!hidden.has(c.class)} onChange={() => onToggle(c.class)} data-testid="box-class-toggle" data-class={c.class} />{' '}
                <span className="box-swatch" style={{ background: classColor(c.class) }} aria-hidden="true" /> {c.class} ({c.count})
              </label>
            ))}
          </fieldset>
          <ol className="box-list">
            {boxes.map((b) => (
              <li
                key={b.index}
                className="box-item"
                data-testid="box-item"
                data-index={b.index}
                data-class={b.class}
                data-mark={b.mark === null ? 'none' : b.mark ? 'correct' : 'incorrect'}
              >
                <span className="box-swatch" style={{ background: classColor(b.class) }} aria-hidden="true" />
                <span>{boxCaption(b)}</span>
                {onMark ? (
                  <span role="group" aria-label={`Mark box ${b.index + 1}, ${b.class}`}>
                    <button
                      type="button"
                      aria-pressed={b.mark === true}
                      disabled={busyIndex === b.index}
                      onClick={() => onMark(b.index, true)}
                      data-testid="box-mark-correct"
                    >
                      Correct
                    </button>{' '}
                    <button
                      type="button"
                      aria-pressed={b.mark === false}
                      disabled={busyIndex === b.index}
                      onClick={() => onMark(b.index, false)}
                      data-testid="box-mark-incorrect"
                    >
                      Incorrect
                    </button>
                  </span>
                ) : (
                  b.mark !== null && <span className="muted">{b.mark ? 'marked correct' : 'marked incorrect'}</span>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
