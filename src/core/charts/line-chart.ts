// Line charts (loss / accuracy curves): axes with round-number ticks, one polyline per series, a
// legend. Several charts can be laid side by side in one picture (`renderChartsPng`), which is how a
// run's curves.png shows loss and accuracy together.
import { ValidationError } from '../errors.js';
import { esc, fmt, svgDocument, svgToPng } from './svg.js';

export interface Series {
  name: string;
  points: readonly { x: number; y: number }[];
}

export interface LineChartOptions {
  title: string;
  series: readonly Series[];
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Fixed y range (e.g. 0…1 for accuracy); otherwise from the data. */
  yMin?: number;
  yMax?: number;
}

export interface LineChartLayout {
  width: number;
  height: number;
  plot: { x: number; y: number; width: number; height: number };
  sx(x: number): number;
  sy(y: number): number;
  xTicks: number[];
  yTicks: number[];
}

/** Colour-blind-safe palette (Okabe–Ito), in series order. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'] as const;

/** Round-number ticks covering [lo, hi]: steps of 1, 2 or 5 × 10^k. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function finitePoints(s: Series) {
  return s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
}

function range(values: number[], min?: number, max?: number): [number, number] {
  let lo = min ?? Math.min(...values);
  let hi = max ?? Math.max(...values);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi === lo) [lo, hi] = [lo - (Math.abs(lo) || 1) * 0.5, hi + (Math.abs(hi) || 1) * 0.5];
  return [lo, hi];
}

export function lineChartLayout(o: LineChartOptions): LineChartLayout {
  if (o.series.length === 0) throw new ValidationError(`chart '${o.title}' has no series`);
  const width = o.width ?? 640;
  const height = o.height ?? 400;
  const all = o.series.flatMap(finitePoints);
  const [x0, x1] = range(all.map((p) => p.x));
  const [yLo, yHi] = range(
    all.map((p) => p.y),
    o.yMin,
    o.yMax,
  );
  // Extend the y range to whole ticks so the curve never touches the frame.
  const yTicks = niceTicks(yLo, yHi);
  const step = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 0;
  const y0 = o.yMin ?? Math.min(yLo, yTicks[0]! > yLo ? yTicks[0]! - step : yTicks[0]!);
  const y1 = o.yMax ?? Math.max(yHi, yTicks[yTicks.length - 1]! < yHi ? yTicks[yTicks.length - 1]! + step : yTicks[yTicks.length - 1]!);
  const plot = { x: 64, y: 40, width: width - 64 - 16, height: height - 40 - 48 };
  const sx = (x: number) => plot.x + ((x - x0) / (x1 - x0)) * plot.width;
  const sy = (y: number) => plot.y + plot.height - ((y - y0) / (y1 - y0)) * plot.height;
  return {
    width,
    height,
    plot,
    sx,
    sy,
    xTicks: niceTicks(x0, x1, 6).filter((t) => t >= x0 && t <= x1),
    yTicks: niceTicks(y0, y1).filter((t) => t >= y0 && t <= y1),
  };
}

/** The chart's SVG elements, drawn with its top-left corner at (dx, dy). */
export function lineChartBody(o: LineChartOptions, dx = 0, dy = 0): string {
  const L = lineChartLayout(o);
  const { plot } = L;
  const parts: string[] = [`<g transform="translate(${dx} ${dy})">`];
  parts.push(`<text x="${plot.x + plot.width / 2}" y="24" font-size="15" font-weight="bold" text-anchor="middle">${esc(o.title)}</text>`);
  for (const t of L.yTicks) {
    const y = L.sy(t).toFixed(1);
    parts.push(`<line x1="${plot.x}" y1="${y}" x2="${plot.x + plot.width}" y2="${y}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${plot.x - 6}" y="${Number(y) + 4}" font-size="11" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of L.xTicks) {
    const x = L.sx(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${plot.y + plot.height}" x2="${x}" y2="${plot.y + plot.height + 4}" stroke="#333"/>`);
    parts.push(`<text x="${x}" y="${plot.y + plot.height + 17}" font-size="11" text-anchor="middle">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${plot.x}" y="${plot.y}" width="${plot.width}" height="${plot.height}" fill="none" stroke="#333"/>`);
  if (o.xLabel) parts.push(`<text x="${plot.x + plot.width / 2}" y="${L.height - 8}" font-size="12" text-anchor="middle">${esc(o.xLabel)}</text>`);
  if (o.yLabel) {
    const my = plot.y + plot.height / 2;
    parts.push(`<text x="14" y="${my}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${my})">${esc(o.yLabel)}</text>`);
  }
  o.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const pts = finitePoints(s).sort((a, b) => a.x - b.x);
    if (pts.length === 1) {
      parts.push(`<circle cx="${L.sx(pts[0]!.x).toFixed(1)}" cy="${L.sy(pts[0]!.y).toFixed(1)}" r="3" fill="${colour}"/>`);
    } else if (pts.length > 1) {
      const d = pts.map((p) => `${L.sx(p.x).toFixed(1)},${L.sy(p.y).toFixed(1)}`).join(' ');
      parts.push(`<polyline points="${d}" fill="none" stroke="${colour}" stroke-width="2" stroke-linejoin="round"/>`);
    }
  });
  // Legend, top-right inside the plot, over the curves on a mostly opaque box so it stays readable.
  const lx = plot.x + plot.width - 150;
  parts.push(`<rect x="${lx - 6}" y="${plot.y + 4}" width="150" height="${o.series.length * 16 + 6}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`);
  o.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const ly = plot.y + 18 + i * 16;
    parts.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 18}" y2="${ly - 4}" stroke="${colour}" stroke-width="3"/>`);
    parts.push(`<text x="${lx + 24}" y="${ly}" font-size="11">${esc(s.name)}</text>`);
  });
  parts.push('</g>');
  return parts.join('');
}

export function lineChartSvg(o: LineChartOptions): string {
  const L = lineChartLayout(o);
  return svgDocument(L.width, L.height, lineChartBody(o));
}

export function renderLineChartPng(o: LineChartOptions): Promise<Buffer> {
  return svgToPng(lineChartSvg(o));
}

/** Several charts side by side in one PNG (e.g. loss | accuracy). */
export function renderChartsPng(charts: readonly LineChartOptions[]): Promise<Buffer> {
  if (charts.length === 0) throw new ValidationError('no charts to render');
  const layouts = charts.map(lineChartLayout);
  const width = layouts.reduce((a, l) => a + l.width, 0);
  const height = Math.max(...layouts.map((l) => l.height));
  let dx = 0;
  const body = charts.map((c, i) => {
    const part = lineChartBody(c, dx, 0);
    dx += layouts[i]!.width;
    return part;
  });
  return svgToPng(svgDocument(width, height, body.join('')));
}
