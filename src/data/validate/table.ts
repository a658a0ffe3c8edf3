// Plain-text tables for reports (CLI output is built from these strings; nothing here prints).
// Numbers are right-aligned, text left-aligned.

export function renderTable(header: string[], rows: (string | number)[][]): string {
  const text = rows.map((r) => r.map(String));
  const widths = header.map((h, c) => Math.max(h.length, ...text.map((r) => (r[c] ?? '').length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  const line = (r: string[]) =>
    r
      .map((v, c) => (numeric[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}
