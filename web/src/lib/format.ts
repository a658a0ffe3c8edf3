// Numbers and times as people read them on the pages.

export function percent(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(digits)}%`;
}

export function num(x: number | null | undefined, digits = 0): string {
  return x === null || x === undefined || !Number.isFinite(x)
    ? '—'
    : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function money(x: number | null | undefined, currency: string): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  try {
    return x.toLocaleString('en-US', { style: 'currency', currency, maximumFractionDigits: 2 });
  } catch {
    return `${x.toFixed(2)} ${currency}`; // a currency code Intl does not know
  }
}

/** Seconds as `850 ms`, `12.3 s`, `4 min 10 s`, `2 h 5 min`. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

/** `lung-viral-pneumonia` → `Viral pneumonia`; `oct-cnv` → `CNV` (unique across modalities: a model may score both). */
const CLASS_NAMES: Record<string, string> = {
  'lung-normal': 'Normal chest',
  'lung-covid': 'COVID-19',
  'lung-viral-pneumonia': 'Viral pneumonia',
  'lung-opacity': 'Lung opacity',
  'lung-tuberculosis': 'Tuberculosis',
  'oct-normal': 'Normal retina',
  'oct-cnv': 'CNV',
  'oct-dme': 'DME',
  'oct-drusen': 'Drusen',
};

export function className(c: string): string {
  return CLASS_NAMES[c] ?? c;
}
