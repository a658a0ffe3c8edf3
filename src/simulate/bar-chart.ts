// Grouped bar chart of rates (0…1): one group per class, one bar per series (e.g. the simulator's
// count and the server's), the value written above each bar; a missing value (no evidence) is an
// "n/a" label, not a zero-height bar that would read as 0 %. Drawn with the shared SVG helpers of
// src/core/charts so it looks like the other charts.
import { niceTicks, PALETTE } from '../core/charts/line-chart.js';
import { esc, fmt, svgDocument, svgToPng } from '../core/charts/svg.js';
import { ValidationError } from '../core/errors.js';

export interface BarSeries {
  name: string;
  /** One value per group, in [0, 1]; null = no evidence. */
  values: readonly (number | null)[];
}

export interface BarChartOptions {
  title: string;
  groups: readonly string[];
  series: readonly BarSeries[];
  yLabel?: string;
  height?: number;
}

export interface BarChartLayout {
  width: number;
  height: number;
  plot: { x: number; y: number; width: number; height: number };
  /** The rectangle of one bar (height 0 for a null or zero value). */
  bar(group: number, series: number): { x: number; y: number; width: number; height: number };
}

const BAR_W = 28;
const GROUP_GAP = 26;
const CHAR_W = 6.5;

export function barChartLayout(o: BarChartOptions): BarChartLayout {
  if (o.groups.length === 0 || o.series.length === 0) throw new ValidationError(`bar chart '${o.title}' has no data`);
  for (const s of o.series) {
    if (s.values.length !== o.groups.length) throw new ValidationError(`bar series '${s.name}' has ${s.values.length} values for ${o.groups.length} groups`);
    if (s.values.some((v) => v !== null && !(Number.isFinite(v) && v >= 0 && v <= 1)))
      throw new ValidationError(`bar series '${s.name}' has a value outside 0…1`);
  }
  const groupW = o.series.length * BAR_W + GROUP_GAP;
  const longest = Math.max(...o.groups.map((g) => g.length));
  const legendW = 40 + Math.max(...o.series.map((s) => s.name.length)) * CHAR_W;
  const plot = { x: 64, y: 40, width: Math.max(o.groups.length * groupW, 240), height: (o.height ?? 400) - 40 - 24 - Math.ceil(longest * CHAR_W * 0.6) };
  const width = plot.x + plot.width + legendW + 16;
  const height = o.height ?? 400;
  const left = plot.x + (plot.width - o.groups.length * groupW) / 2 + GROUP_GAP / 2;
  return {
    width,
    height,
    plot,
    bar: (g, s) => {
      const v = o.series[s]!.values[g] ?? 0;
      const h = v * plot.height;
      return { x: left + g * groupW + s * BAR_W, y: plot.y + plot.height - h, width: BAR_W - 2, height: h };
    },
  };
}

export function barChartSvg(o: BarChartOptions): string {
  const L = barChartLayout(o);
  const { plot } = L;
  const sy = (v: number) => plot.y + plot.height - v * plot.height;
  const parts: string[] = [`<text x="${plot.x + plot.width / 2}" y="24" font-size="15" font-weight="bold" text-anchor="middle">${esc(o.title)}</text>`];
  for (const t of niceTicks(0, 1)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${plot.x}" y1="${y}" x2="${plot.x + plot.width}" y2="${y}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${plot.x - 6}" y="${Number(y) + 4}" font-size="11" text-anchor="end">${fmt(t)}</text>`);
  }
  o.groups.forEach((g, gi) => {
    o.series.forEach((s, si) => {
      const r = L.bar(gi, si);
      const v = s.values[gi];
      const cx = (r.x + r.width / 2).toFixed(1);
      if (v === null || v === undefined) {
        parts.push(`<text x="${cx}" y="${plot.y + plot.height - 4}" font-size="9" fill="#777" text-anchor="middle">n/a</text>`);
        return;
      }
      parts.push(
        `<rect x="${r.x.toFixed(1)}" y="${r.y.toFixed(1)}" width="${r.width}" height="${r.height.toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"/>`,
      );
      parts.push(`<text x="${cx}" y="${(r.y - 3).toFixed(1)}" font-size="9" text-anchor="middle">${Math.round(v * 100)}%</text>`);
    });
    const first = L.bar(gi, 0);
    const gx = first.x + (o.series.length * BAR_W) / 2;
    const ly = plot.y + plot.height + 14;
    parts.push(`<text x="${gx.toFixed(1)}" y="${ly}" font-size="11" text-anchor="end" transform="rotate(-35 ${gx.toFixed(1)} ${ly})">${esc(g)}</text>`);
  });
  parts.push(`<rect x="${plot.x}" y="${plot.y}" width="${plot.width}" height="${plot.height}" fill="none" stroke="#333"/>`);
  if (o.yLabel) {
    const my = plot.y + plot.height / 2;
    parts.push(`<text x="14" y="${my}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${my})">${esc(o.yLabel)}</text>`);
  }
  const lx = plot.x + plot.width + 16;
  o.series.forEach((s, i) => {
    const ly = plot.y + 12 + i * 18;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`);
    parts.push(`<text x="${lx + 18}" y="${ly + 1}" font-size="11">${esc(s.name)}</text>`);
  });
  return svgDocument(L.width, L.height, parts.join(''));
}

export function renderBarChartPng(o: BarChartOptions): Promise<Buffer> {
  return svgToPng(barChartSvg(o));
}
