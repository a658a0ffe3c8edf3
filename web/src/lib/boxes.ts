// The detector's boxes in the viewer: which boxes a study's model read carries (with reader B's marks), the
// classes present (one checkbox each), which boxes are drawn while some classes are hidden, where a box lands
// on the screen under the viewer's zoom and pan, and the caption and colour it is drawn with. Boxes come in
// the ORIGINAL image's pixels, which is the viewer's image space: no letterbox maths here.
import { DETECTION_CLASSES } from '../../../src/data/classes.js';
import type { ModelRead } from '../api/types.js';
import type { View } from './windowLevel.js';

export interface ViewerBox {
  /** Index into the read's detections: what a mark points at. */
  index: number;
  class: string;
  score: number;
  box: [number, number, number, number];
  /** Reader B's verdict: true correct, false incorrect, null not marked. */
  mark: boolean | null;
}

/** The boxes of a model read, in the read's order (best first), each with its latest mark. None for a blinded view. */
export function boxesOf(read: ModelRead | undefined): ViewerBox[] {
  if (!read?.detections) return [];
  const marks = new Map((read.boxMarks ?? []).map((m) => [m.index, m.correct]));
  return read.detections.map((d, index) => ({ index, class: d.class, score: d.score, box: d.box, mark: marks.get(index) ?? null }));
}

/** The classes present, each once with its box count, in the order of their best box. */
export function classesPresent(boxes: readonly ViewerBox[]): { class: string; count: number }[] {
  const out = new Map<string, number>();
  for (const b of boxes) out.set(b.class, (out.get(b.class) ?? 0) + 1);
  return [...out].map(([c, count]) => ({ class: c, count }));
}

/** The boxes drawn: those of classes not hidden. */
export function visibleBoxes(boxes: readonly ViewerBox[], hidden: ReadonlySet<string>): ViewerBox[] {
  return boxes.filter((b) => !hidden.has(b.class));
}

/** Hides a shown class or shows a hidden one (a new set: React state). */
export function toggleClass(hidden: ReadonlySet<string>, cls: string): Set<string> {
  const next = new Set(hidden);
  if (next.has(cls)) next.delete(cls);
  else next.add(cls);
  return next;
}

/** Where a box lands in the viewer's CSS pixels: image pixel p → view.x + p·scale (windowLevel.ts's transform). */
export function screenRect(box: readonly [number, number, number, number], view: View): { left: number; top: number; width: number; height: number } {
  const [x0, y0, x1, y1] = box;
  return { left: view.x + x0 * view.scale, top: view.y + y0 * view.scale, width: (x1 - x0) * view.scale, height: (y1 - y0) * view.scale };
}

/** "Cardiomegaly 0.91": class and score, as drawn beside the box and listed in the panel. */
export function boxCaption(b: Pick<ViewerBox, 'class' | 'score'>): string {
  return `${b.class} ${b.score.toFixed(2)}`;
}

/** Fourteen colours that stay apart on a grey image; a class keeps its colour on every study. */
const PALETTE = [
  '#ff595e',
  '#ffca3a',
  '#8ac926',
  '#1982c4',
  '#6a4c93',
  '#ff924c',
  '#52e3e1',
  '#f15bb5',
  '#c5ca30',
  '#00bbf9',
  '#e36414',
  '#9b5de5',
  '#06d6a0',
  '#fee440',
];

export function classColor(cls: string): string {
  const i = (DETECTION_CLASSES as readonly string[]).indexOf(cls);
  if (i >= 0) return PALETTE[i % PALETTE.length]!;
  let h = 0;
  for (const ch of cls) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}
