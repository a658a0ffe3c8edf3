// Horizontal bars with their labels and values as text (a list, so screen readers read every value):
// model probabilities, prediction mix, agreement per class.

export interface Bar {
  /** Unique within the list (default: the label). */
  key?: string;
  label: string;
  value: number;
  /** Text shown for the value (default: the number). */
  display?: string;
  highlight?: boolean;
}

export function BarList({ title, bars, max, testId }: { title: string; bars: Bar[]; max?: number; testId?: string }) {
  const top = max ?? Math.max(0, ...bars.map((b) => b.value));
  return (
    <figure className="barlist" data-testid={testId}>
      <figcaption>{title}</figcaption>
      {bars.length === 0 ? (
        <p className="muted">No data yet.</p>
      ) : (
        <ul>
          {bars.map((b) => (
            <li key={b.key ?? b.label} className={b.highlight ? 'highlight' : undefined}>
              <span className="bar-label">{b.label}</span>
              <span className="bar-track" aria-hidden="true">
                <span className="bar-fill" style={{ width: `${top > 0 ? Math.max(0, Math.min(100, (b.value / top) * 100)) : 0}%` }} />
              </span>
              <span className="bar-value">{b.display ?? String(b.value)}</span>
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
