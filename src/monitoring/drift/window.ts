// A window as people write it: a number of reads ("200") or a duration ("30m", "24h", "7d"). One parser for the CLI
// and the API, checked by assertWindow (check.ts) for its bounds.
import { ValidationError } from '../../core/errors.js';
import type { WindowSpec } from './types.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function parseWindow(text: string): WindowSpec {
  const t = text.trim();
  if (/^\d{1,6}$/.test(t)) return { kind: 'count', size: Number(t) };
  const m = /^(\d{1,6})([smhd])$/.exec(t);
  if (!m) throw new ValidationError(`a window is a number of reads (e.g. 200) or a duration (e.g. 30m, 24h, 7d), got '${t.slice(0, 20)}'`);
  return { kind: 'time', seconds: Number(m[1]) * UNIT_SECONDS[m[2]!]! };
}

export function formatWindow(w: WindowSpec): string {
  if (w.kind === 'count') return `last ${w.size} reads`;
  const s = w.seconds;
  return s % 86400 === 0 ? `last ${s / 86400}d` : s % 3600 === 0 ? `last ${s / 3600}h` : s % 60 === 0 ? `last ${s / 60}m` : `last ${s}s`;
}
