// Figures as people read them in reports and terminal summaries: a rate as a percentage, and '—' where there is
// no figure (no evidence, or not applicable) rather than a made-up 0. One copy for the CLI, the demo and the
// workflow's policy report.

/** 0.1234 → '12.3%' (`digits` after the point); null, undefined or NaN → '—'. */
export function percent(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || Number.isNaN(v) ? '—' : `${(100 * v).toFixed(digits)}%`;
}
