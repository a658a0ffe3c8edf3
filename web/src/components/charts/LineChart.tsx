// A line chart as plain SVG: several series over a shared x axis, nice ticks, a legend, and the
// data named for screen readers (role="img" with a summary; the numbers themselves are in the page).
import { useId } from 'react';

import { linearScale, niceTicks, tickLabel } from './scale.js';

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  points: Point[];
}

export interface LineChartProps {
  title: string;
  series: Series[];
  xLabel?: string;
  yLabel?: string;
  /** Fixed y range (e.g. [0, 1] for rates); else from the data. */
  yDomain?: [number, number];
  formatX?: (x: number) => string;
  formatY?: (y: number) => string;
  width?: number;
  height?: number;
  testId?: string;
}

const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
export const seriesColor = (i: number): string => COLORS[i % COLORS.length]!;

const M = { top: 12, right: 32, bottom: 40, left: 56 };

export function LineChart({
  title,
  series,
  xLabel,
  yLabel,
  yDomain,
  formatX = tickLabel,
  formatY = tickLabel,
  width = 560,
  height = 240,
  testId,
}: LineChartProps) {
  const id = useId();
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const summary = series.map((s) => {
    const last = s.points.at(-1);
    return `${s.name}: ${s.points.length} points${last ? `, last ${formatY(last.y)} at ${formatX(last.x)}` : ''}`;
  });
  if (all.length === 0) {
    return (
      <figure className="chart" data-testid={testId}>
        <figcaption>{title}</figcaption>
        <p className="muted">No data yet.</p>
      </figure>
    );
  }
  const xs = niceTicks(Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x)), 4);
  const ys = yDomain ? niceTicks(yDomain[0], yDomain[1], 5) : niceTicks(Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y)), 5);
  const sx = linearScale(xs.min, xs.max, M.left, width - M.right);
  const sy = linearScale(ys.min, ys.max, height - M.bottom, M.top);
  const path = (pts: Point[]) =>
    pts
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
      .join('');
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption id={`${id}-t`}>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img" aria-labelledby={`${id}-t ${id}-d`} preserveAspectRatio="xMidYMid meet">
        <desc id={`${id}-d`}>{summary.join('; ')}</desc>
        {ys.ticks.map((t) => (
          <g key={`y${t}`}>
            <line x1={M.left} x2={width - M.right} y1={sy(t)} y2={sy(t)} className="grid" />
            <text x={M.left - 6} y={sy(t)} textAnchor="end" dominantBaseline="middle" className="tick">
              {formatY(t)}
            </text>
          </g>
        ))}
        {xs.ticks.map((t) => (
          <text key={`x${t}`} x={sx(t)} y={height - M.bottom + 16} textAnchor="middle" className="tick">
            {formatX(t)}
          </text>
        ))}
        <line x1={M.left} x2={width - M.right} y1={height - M.bottom} y2={height - M.bottom} className="axis" />
        {xLabel && (
          <text x={(M.left + width - M.right) / 2} y={height - 4} textAnchor="middle" className="axis-label">
            {xLabel}
          </text>
        )}
        {yLabel && (
          <text transform={`translate(12 ${(M.top + height - M.bottom) / 2}) rotate(-90)`} textAnchor="middle" className="axis-label">
            {yLabel}
          </text>
        )}
        {series.map((s, i) => (
          <g key={s.name}>
            <path d={path(s.points)} fill="none" stroke={seriesColor(i)} strokeWidth={2} />
            {s.points.length === 1 && <circle cx={sx(s.points[0]!.x)} cy={sy(s.points[0]!.y)} r={3} fill={seriesColor(i)} />}
          </g>
        ))}
      </svg>
      {series.length > 1 && (
        <ul className="legend" aria-hidden="true">
          {series.map((s, i) => (
            <li key={s.name}>
              <span className="swatch" style={{ background: seriesColor(i) }} />
              {s.name}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
