// A table as a picture (per-class figures next to the curves in a run's artifacts): a title, a header
// row, right-aligned numeric columns, zebra rows. Text is measured by a fixed per-character width,
// which is enough for the DejaVu Sans that librsvg falls back to.
import { ValidationError } from '../errors.js';
import { esc, svgDocument, svgToPng } from './svg.js';

export interface TableOptions {
  title: string;
  header: readonly string[];
  rows: readonly (readonly string[])[];
  /** Columns (by index) aligned left; the others are right-aligned (numbers). Default: the first. */
  leftColumns?: readonly number[];
}

const CHAR = 7.2;
const ROW = 20;
const PAD = 10;

export function tableSvg(o: TableOptions): string {
  if (o.rows.some((r) => r.length !== o.header.length)) throw new ValidationError('every table row needs one cell per header column');
  const left = new Set(o.leftColumns ?? [0]);
  const widths = o.header.map((h, c) => Math.ceil(Math.max(h.length, ...o.rows.map((r) => r[c]!.length)) * CHAR) + 2 * PAD);
  const width = widths.reduce((a, b) => a + b, 0) + 2 * PAD;
  const top = 34;
  const height = top + ROW * (o.rows.length + 1) + PAD;
  const parts = [`<text x="${PAD}" y="22" font-size="14" font-weight="bold">${esc(o.title)}</text>`];
  const line = (cells: readonly string[], y: number, bold: boolean) => {
    let x = PAD;
    cells.forEach((cell, c) => {
      const w = widths[c]!;
      const anchor = left.has(c) ? `x="${x + PAD}" text-anchor="start"` : `x="${x + w - PAD}" text-anchor="end"`;
      parts.push(`<text ${anchor} y="${y + 14}" font-size="12"${bold ? ' font-weight="bold"' : ''}>${esc(cell)}</text>`);
      x += w;
    });
  };
  line(o.header, top, true);
  parts.push(`<line x1="${PAD}" x2="${width - PAD}" y1="${top + ROW - 1}" y2="${top + ROW - 1}" stroke="#333"/>`);
  o.rows.forEach((r, i) => {
    const y = top + ROW * (i + 1);
    if (i % 2 === 1) parts.push(`<rect x="${PAD}" y="${y}" width="${width - 2 * PAD}" height="${ROW}" fill="#f2f2f2"/>`);
    line(r, y, false);
  });
  return svgDocument(width, height, parts.join(''));
}

export function renderTablePng(o: TableOptions): Promise<Buffer> {
  return svgToPng(tableSvg(o));
}
