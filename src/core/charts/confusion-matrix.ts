// Confusion matrix as a picture: rows = true class, columns = predicted class, each cell shows its
// count and row share; the colour follows the row share (recall for the diagonal), so a rare class's
// errors are as visible as a frequent class's.
import { ValidationError } from '../errors.js';
import { esc, fmt, luminance, mix, type Rgb, rgb, svgDocument, svgToPng } from './svg.js';

export interface ConfusionMatrixOptions {
  classNames: readonly string[];
  /** matrix[true][predicted] = count. */
  matrix: readonly (readonly number[])[];
  title?: string;
}

export interface ConfusionMatrixLayout {
  width: number;
  height: number;
  cell: number;
  /** Top-left corner of the cell of (true row, predicted column). */
  cellOrigin(row: number, col: number): { x: number; y: number };
}

const EMPTY: Rgb = [247, 251, 255];
const FULL: Rgb = [8, 48, 107];
const CHAR_W = 7; // approximate width of a 12px DejaVu Sans character

/** The colour of a cell holding `count` of a row totalling `rowTotal`. */
export function cellColour(count: number, rowTotal: number): Rgb {
  return mix(EMPTY, FULL, rowTotal > 0 ? count / rowTotal : 0);
}

function validate(o: ConfusionMatrixOptions): void {
  const n = o.classNames.length;
  if (n === 0) throw new ValidationError('a confusion matrix needs at least one class');
  if (o.matrix.length !== n || o.matrix.some((row) => row.length !== n)) {
    throw new ValidationError(`confusion matrix must be ${n}×${n} for ${n} class names`);
  }
  if (o.matrix.some((row) => row.some((v) => !Number.isFinite(v) || v < 0)))
    throw new ValidationError('confusion matrix counts must be finite and non-negative');
}

export function confusionMatrixLayout(o: ConfusionMatrixOptions): ConfusionMatrixLayout {
  validate(o);
  const n = o.classNames.length;
  const cell = Math.max(28, Math.min(72, Math.floor(600 / n)));
  const longest = Math.max(...o.classNames.map((c) => c.length));
  const left = 40 + longest * CHAR_W;
  const top = 50;
  // Column labels are rotated 45°: their vertical extent is ~0.72 × their length.
  const bottom = 50 + Math.ceil(longest * CHAR_W * 0.72);
  const legend = 90;
  return {
    width: left + n * cell + legend,
    height: top + n * cell + bottom,
    cell,
    cellOrigin: (row, col) => ({ x: left + col * cell, y: top + row * cell }),
  };
}

export function confusionMatrixSvg(o: ConfusionMatrixOptions): string {
  const L = confusionMatrixLayout(o);
  const n = o.classNames.length;
  const parts: string[] = [];
  const origin = L.cellOrigin(0, 0);
  const gridW = n * L.cell;
  parts.push(`<text x="${origin.x + gridW / 2}" y="28" font-size="16" font-weight="bold" text-anchor="middle">${esc(o.title ?? 'Confusion matrix')}</text>`);
  for (let r = 0; r < n; r++) {
    const row = o.matrix[r]!;
    const total = row.reduce((a, b) => a + b, 0);
    for (let c = 0; c < n; c++) {
      const { x, y } = L.cellOrigin(r, c);
      const count = row[c]!;
      const colour = cellColour(count, total);
      const ink = luminance(colour) < 0.5 ? 'white' : 'black';
      parts.push(`<rect x="${x}" y="${y}" width="${L.cell}" height="${L.cell}" fill="${rgb(colour)}" stroke="#d0d0d0"/>`);
      const cx = x + L.cell / 2;
      const share = total > 0 ? `${Math.round((100 * count) / total)}%` : '';
      if (L.cell >= 44 && share) {
        parts.push(`<text x="${cx}" y="${y + L.cell / 2 - 2}" font-size="12" text-anchor="middle" fill="${ink}">${fmt(count)}</text>`);
        parts.push(`<text x="${cx}" y="${y + L.cell / 2 + 12}" font-size="10" text-anchor="middle" fill="${ink}">${share}</text>`);
      } else {
        parts.push(`<text x="${cx}" y="${y + L.cell / 2 + 4}" font-size="${L.cell >= 36 ? 11 : 9}" text-anchor="middle" fill="${ink}">${fmt(count)}</text>`);
      }
    }
    const { y } = L.cellOrigin(r, 0);
    parts.push(`<text x="${origin.x - 6}" y="${y + L.cell / 2 + 4}" font-size="12" text-anchor="end">${esc(o.classNames[r]!)}</text>`);
  }
  const labelsY = origin.y + gridW + 10;
  for (let c = 0; c < n; c++) {
    const x = L.cellOrigin(0, c).x + L.cell / 2;
    parts.push(`<text x="${x}" y="${labelsY}" font-size="12" text-anchor="end" transform="rotate(-45 ${x} ${labelsY})">${esc(o.classNames[c]!)}</text>`);
  }
  parts.push(`<text x="${origin.x + gridW / 2}" y="${L.height - 12}" font-size="13" text-anchor="middle">predicted class</text>`);
  const midY = origin.y + gridW / 2;
  parts.push(`<text x="16" y="${midY}" font-size="13" text-anchor="middle" transform="rotate(-90 16 ${midY})">true class</text>`);
  // Colour bar: the scale of the row share.
  const barX = origin.x + gridW + 24;
  const steps = 20;
  const stepH = gridW / steps;
  for (let i = 0; i < steps; i++) {
    const colour = mix(EMPTY, FULL, 1 - (i + 0.5) / steps);
    parts.push(`<rect x="${barX}" y="${(origin.y + i * stepH).toFixed(2)}" width="14" height="${(stepH + 0.5).toFixed(2)}" fill="${rgb(colour)}"/>`);
  }
  parts.push(`<rect x="${barX}" y="${origin.y}" width="14" height="${gridW}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${barX + 18}" y="${origin.y + 10}" font-size="10">100%</text>`);
  parts.push(`<text x="${barX + 18}" y="${origin.y + gridW}" font-size="10">0%</text>`);
  parts.push(`<text x="${barX + 7}" y="${origin.y - 8}" font-size="10" text-anchor="middle">row %</text>`);
  return svgDocument(L.width, L.height, parts.join(''));
}

export function renderConfusionMatrixPng(o: ConfusionMatrixOptions): Promise<Buffer> {
  return svgToPng(confusionMatrixSvg(o));
}
