// Small SVG helpers shared by the chart renderers: escaping, number formatting, colours, and the
// one place an SVG string becomes a PNG (sharp renders SVG through librsvg).
import sharp from 'sharp';

export const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** A short label for an axis tick or a cell: at most ~4 significant digits, no trailing zeros. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

export type Rgb = [number, number, number];

/** Linear interpolation between two colours, t in [0, 1]. */
export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  const u = Math.min(1, Math.max(0, t));
  return [0, 1, 2].map((i) => Math.round(a[i]! + (b[i]! - a[i]!) * u)) as Rgb;
}

export function rgb([r, g, b]: Rgb): string {
  return `rgb(${r},${g},${b})`;
}

/** Relative luminance (0 dark … 1 light), to pick readable text on a coloured cell. */
export function luminance([r, g, b]: Rgb): number {
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

export function svgDocument(width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">` +
    `<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>${body}</svg>`
  );
}

/** Renders an SVG string to a PNG of exactly its declared size. */
export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 }).png().toBuffer();
}
