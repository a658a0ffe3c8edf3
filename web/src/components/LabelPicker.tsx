// Choosing and committing a read: one button per class of the study's modality (keys 1…n choose),
// then an explicit "Commit" — a read cannot be taken back, so one stray click must not commit it.
import { useEffect, useMemo, useRef, useState } from 'react';

import { className } from '../lib/format.js';
import { labelsFor } from '../lib/labels.js';

export interface LabelPickerProps {
  modality: string;
  /** "Commit read A", "Commit final label". */
  commitText: string;
  busy: boolean;
  onCommit: (label: string) => void;
}

function typingIn(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

export function LabelPicker({ modality, commitText, busy, onCommit }: LabelPickerProps) {
  const labels = useMemo(() => labelsFor(modality), [modality]);
  const [chosen, setChosen] = useState<string | null>(null);
  const [byKey, setByKey] = useState(0);
  const commitRef = useRef<HTMLButtonElement | null>(null);

  // A label chosen by key moves focus to Commit (once it is enabled), so Enter commits it.
  useEffect(() => {
    if (byKey > 0) commitRef.current?.focus();
  }, [byKey]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typingIn(e.target)) return;
      const n = Number(e.key);
      if (Number.isInteger(n) && n >= 1 && n <= labels.length) {
        e.preventDefault();
        setChosen(labels[n - 1]!);
        setByKey((k) => k + 1);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [labels]);

  if (labels.length === 0) return <p className="error">Unknown modality “{modality}”: no labels to choose from.</p>;
  return (
    <fieldset className="label-picker" data-testid="label-picker" disabled={busy}>
      <legend>Your read (keys 1–{labels.length})</legend>
      <div className="label-buttons">
        {labels.map((l, i) => (
          <button
            key={l}
            type="button"
            id={`label-${l}`}
            data-testid={`label-button-${l}`}
            className="label-button"
            aria-pressed={chosen === l}
            aria-keyshortcuts={String(i + 1)}
            onClick={() => setChosen(l)}
          >
            <span className="key" aria-hidden="true">
              {i + 1}
            </span>
            {className(l)}
            <span className="muted small"> {l}</span>
          </button>
        ))}
      </div>
      <button
        ref={commitRef}
        type="button"
        className="primary"
        data-testid="commit-read"
        id="commit-read"
        disabled={chosen === null || busy}
        onClick={() => chosen && onCommit(chosen)}
      >
        {busy ? 'Committing…' : chosen ? `${commitText}: ${className(chosen)}` : `${commitText} (choose a label)`}
      </button>
    </fieldset>
  );
}
