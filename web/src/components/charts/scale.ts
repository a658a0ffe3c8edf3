// Axis maths for the hand-written SVG charts: "nice" tick values (1, 2, 5 × 10ⁿ) and linear scales.

/** About `count` round tick values covering [min, max] (the domain is widened to the outer ticks). */
export function niceTicks(min: number, max: number, count = 5): { ticks: number[]; min: number; max: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { ticks: [0, 1], min: 0, max: 1 };
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  // The round step whose interval count is closest to the one asked for.
  const target = Math.max(1, count);
  const step = [1, 2, 2.5, 5, 10]
    .map((m) => m * mag)
    .reduce((best, s) => (Math.abs((max - min) / s - target) <= Math.abs((max - min) / best - target) ? s : best));
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  // Ticks as lo + i × step, rounded to the step's decimals: no 0.30000000000000004, no 7e-18 for 0.
  const decimals = Math.max(0, 1 - Math.floor(Math.log10(step)));
  const round = (v: number) => Number(v.toFixed(Math.min(20, decimals))) || 0;
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step / 2; i++) ticks.push(round(lo + i * step));
  return { ticks, min: round(lo), max: round(hi) };
}

/** Maps [d0, d1] onto [r0, r1]; a zero-width domain maps everything to the range's middle. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (x: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  return (x) => r0 + ((x - d0) / (d1 - d0)) * (r1 - r0);
}

/** A short label for a tick value (no float noise: 0.30000000000000004 → 0.3). */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(4)));
}
