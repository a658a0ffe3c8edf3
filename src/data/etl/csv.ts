// A small RFC 4180 reader for the labels sheets datasets ship (RSNA, VinDr-CXR): a header row, comma
// separated, fields optionally double-quoted ("" inside quotes is a quote), CRLF or LF, a UTF-8 BOM
// tolerated. Rows come back as objects keyed by the header; a row with the wrong number of fields is
// an error naming its line, because a shifted column would silently mislabel images.
import { ValidationError } from '../../core/errors.js';

export interface CsvTable {
  header: string[];
  rows: Record<string, string>[];
}

export function parseCsv(text: string, name: string): CsvTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const endRecord = () => {
    fields.push(field);
    // A blank line is not a record (files often end with one or two).
    if (!(fields.length === 1 && fields[0] === '')) records.push({ fields, line: recordLine });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (c === '\n') line += 1;
        field += c;
      }
      i += 1;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      endRecord();
      line += 1;
      recordLine = line;
    } else field += c;
    i += 1;
  }
  if (quoted) throw new ValidationError(`${name}: line ${recordLine}: a quoted field is not closed`);
  if (field !== '' || fields.length > 0) endRecord();
  if (records.length === 0) throw new ValidationError(`${name}: the file is empty (a header row is expected)`);
  const header = records[0]!.fields.map((h) => h.trim());
  const rows = records.slice(1).map(({ fields: f, line: l }) => {
    if (f.length !== header.length) throw new ValidationError(`${name}: line ${l} has ${f.length} fields, the header has ${header.length}`);
    return Object.fromEntries(header.map((h, k) => [h, f[k]!.trim()]));
  });
  return { header, rows };
}

/** Throws naming the file and the missing columns (the usual mistake: the wrong sheet of a dataset). */
export function requireColumns(table: CsvTable, name: string, columns: readonly string[]): void {
  const missing = columns.filter((c) => !table.header.includes(c));
  if (missing.length > 0)
    throw new ValidationError(`${name}: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (has: ${table.header.join(', ')})`, {
      file: name,
      missing,
    });
}

/** One CSV field as this reader reads it back: quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number | null): string {
  const s = value === null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV text: the header, then one line per row, LF line ends. */
export function formatCsv(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  return `${[header, ...rows].map((r) => r.map(csvField).join(',')).join('\n')}\n`;
}
