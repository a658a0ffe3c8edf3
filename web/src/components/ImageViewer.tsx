// The study image on a canvas with zoom, pan and window/level — by mouse and by keyboard.
//   mouse: wheel zooms at the pointer; drag pans; right-drag or Shift+drag sets window/level
//          (horizontal = width, vertical = level); double-click fits the image
//   keys (viewer focused): arrows pan (Shift: further), + and − zoom, 0 fits, [ and ] narrow/widen
//          the window, , and . brighten/darken, A auto window, I inverts, R resets everything
// The maths is in lib/windowLevel.ts; this component decodes the image once, keeps its grey values,
// re-applies the window into an offscreen canvas when it changes, and draws with the view transform.
// The detector's boxes (lib/boxes.ts) are drawn over the canvas as outlined elements with class and score,
// placed with the same view transform, so they follow zoom and pan and can be found in the page.
import { type KeyboardEvent, type PointerEvent, useCallback, useEffect, useId, useRef, useState } from 'react';

import { boxCaption, classColor, screenRect, type ViewerBox } from '../lib/boxes.js';
import {
  applyLut,
  autoWindow,
  dragWindow,
  fitView,
  FULL_WINDOW,
  panBy,
  stepWindow,
  toGray,
  type View,
  type WindowLevel,
  windowLut,
  zoomAt,
} from '../lib/windowLevel.js';

export interface ImageViewerProps {
  /** Object URL of the image (null while it loads). */
  src: string | null;
  /** What the image is, for screen readers ("Chest X-ray of study …"). */
  label: string;
  /** An overlay drawn over the image (the saliency map), when `overlayVisible`. */
  overlaySrc?: string | null;
  overlayVisible?: boolean;
  overlayOpacity?: number;
  testId?: string;
  /** For a DICOM study: the window its rendering was made with (the default picture), to show. */
  sourceWindow?: string | null;
  /** The detector's boxes to draw (the visible ones), in the image's pixels. */
  boxes?: readonly ViewerBox[];
}

interface Decoded {
  width: number;
  height: number;
  gray: Uint8Array;
  pixels: ImageData;
  windowed: HTMLCanvasElement;
}

async function decode(src: string): Promise<HTMLImageElement> {
  const img = new Image();
  img.src = src;
  await img.decode();
  return img;
}

function readPixels(img: HTMLImageElement): Decoded {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser cannot draw on a canvas');
  ctx.drawImage(img, 0, 0);
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return { width: canvas.width, height: canvas.height, gray: toGray(pixels.data), pixels, windowed: canvas };
}

const ZOOM_STEP = 1.25;

export function ImageViewer({
  src,
  label,
  overlaySrc = null,
  overlayVisible = false,
  overlayOpacity = 0.6,
  testId = 'image-viewer',
  sourceWindow = null,
  boxes = [],
}: ImageViewerProps) {
  const helpId = useId();
  const canvasRef = useRef<HTMLCanvasElement | null>(null);
  const boxRef = useRef<HTMLDivElement | null>(null);
  const [image, setImage] = useState<Decoded | null>(null);
  const [overlay, setOverlay] = useState<HTMLImageElement | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [view, setView] = useState<View>({ scale: 1, x: 0, y: 0 });
  const [wl, setWl] = useState<WindowLevel>(FULL_WINDOW);
  const [invert, setInvert] = useState(false);
  const [size, setSize] = useState({ w: 0, h: 0 });
  const drag = useRef<{ mode: 'pan' | 'window'; x: number; y: number } | null>(null);

  // The canvas follows its box (and the screen's pixel density).
  useEffect(() => {
    const box = boxRef.current;
    if (!box) return;
    const ro = new ResizeObserver(() => setSize({ w: box.clientWidth, h: box.clientHeight }));
    ro.observe(box);
    setSize({ w: box.clientWidth, h: box.clientHeight });
    return () => ro.disconnect();
  }, []);

  const fit = useCallback(() => {
    if (image && size.w > 0) setView(fitView(image.width, image.height, size.w, size.h));
  }, [image, size]);

  useEffect(() => {
    setImage(null);
    setError(null);
    if (!src) return;
    let live = true;
    decode(src)
      .then((img) => {
        if (!live) return;
        setImage(readPixels(img));
        setWl(FULL_WINDOW);
        setInvert(false);
      })
      .catch(() => live && setError('The image could not be decoded.'));
    return () => {
      live = false;
    };
  }, [src]);

  useEffect(() => {
    setOverlay(null);
    if (!overlaySrc) return;
    let live = true;
    decode(overlaySrc)
      .then((img) => live && setOverlay(img))
      .catch(() => live && setError('The saliency overlay could not be decoded.'));
    return () => {
      live = false;
    };
  }, [overlaySrc]);

  // A new image (or a first size) fits the view.
  const fitted = useRef<Decoded | null>(null);
  useEffect(() => {
    if (image && size.w > 0 && fitted.current !== image) {
      fitted.current = image;
      fit();
    }
  }, [image, size, fit]);

  // The window is applied to the grey values once per change, into the offscreen canvas.
  useEffect(() => {
    if (!image) return;
    applyLut(image.gray, windowLut(wl, invert), image.pixels.data);
    image.windowed.getContext('2d')?.putImageData(image.pixels, 0, 0);
  }, [image, wl, invert]);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || size.w === 0) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(size.w * dpr);
    canvas.height = Math.round(size.h * dpr);
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, size.w, size.h);
    if (!image) return;
    ctx.imageSmoothingEnabled = view.scale < 2; // magnified: show the real pixels
    ctx.setTransform(dpr * view.scale, 0, 0, dpr * view.scale, dpr * view.x, dpr * view.y);
    ctx.drawImage(image.windowed, 0, 0);
    if (overlay && overlayVisible) {
      ctx.globalAlpha = overlayOpacity;
      ctx.drawImage(overlay, 0, 0, image.width, image.height);
      ctx.globalAlpha = 1;
    }
  }, [image, overlay, overlayVisible, overlayOpacity, view, wl, invert, size]);

  // Wheel zoom needs a non-passive listener to keep the page from scrolling.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = canvas.getBoundingClientRect();
      setView((v) => zoomAt(v, Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top));
    };
    canvas.addEventListener('wheel', onWheel, { passive: false });
    return () => canvas.removeEventListener('wheel', onWheel);
  }, []);

  const zoom = (factor: number) => setView((v) => zoomAt(v, factor, size.w / 2, size.h / 2));
  const resetAll = () => {
    setWl(FULL_WINDOW);
    setInvert(false);
    fit();
  };

  const onPointerDown = (e: PointerEvent<HTMLCanvasElement>) => {
    if (e.button !== 0 && e.button !== 2) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    e.currentTarget.focus();
    drag.current = { mode: e.button === 2 || e.shiftKey ? 'window' : 'pan', x: e.clientX, y: e.clientY };
  };
  const onPointerMove = (e: PointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    d.x = e.clientX;
    d.y = e.clientY;
    if (d.mode === 'pan') setView((v) => panBy(v, dx, dy));
    else setWl((w) => dragWindow(w, dx, dy));
  };
  const onPointerUp = () => {
    drag.current = null;
  };

  const onKeyDown = (e: KeyboardEvent<HTMLCanvasElement>) => {
    const step = e.shiftKey ? 100 : 20;
    const actions: Record<string, () => void> = {
      ArrowLeft: () => setView((v) => panBy(v, step, 0)),
      ArrowRight: () => setView((v) => panBy(v, -step, 0)),
      ArrowUp: () => setView((v) => panBy(v, 0, step)),
      ArrowDown: () => setView((v) => panBy(v, 0, -step)),
      '+': () => zoom(ZOOM_STEP),
      '=': () => zoom(ZOOM_STEP),
      '-': () => zoom(1 / ZOOM_STEP),
      _: () => zoom(1 / ZOOM_STEP),
      '0': fit,
      '[': () => setWl((w) => stepWindow(w, 'narrower', e.shiftKey)),
      '{': () => setWl((w) => stepWindow(w, 'narrower', true)),
      ']': () => setWl((w) => stepWindow(w, 'wider', e.shiftKey)),
      '}': () => setWl((w) => stepWindow(w, 'wider', true)),
      ',': () => setWl((w) => stepWindow(w, 'brighter', e.shiftKey)),
      '<': () => setWl((w) => stepWindow(w, 'brighter', true)),
      '.': () => setWl((w) => stepWindow(w, 'darker', e.shiftKey)),
      '>': () => setWl((w) => stepWindow(w, 'darker', true)),
      a: () => image && setWl(autoWindow(image.gray)),
      A: () => image && setWl(autoWindow(image.gray)),
      i: () => setInvert((x) => !x),
      I: () => setInvert((x) => !x),
      r: resetAll,
      R: resetAll,
    };
    const act = e.ctrlKey || e.metaKey || e.altKey ? undefined : actions[e.key];
    if (act) {
      e.preventDefault();
      act();
    }
  };

  const status = image
    ? `${image.width}×${image.height} px · zoom ${Math.round(view.scale * 100)}% · window ${Math.round(wl.width)} · level ${Math.round(wl.center)}${invert ? ' · inverted' : ''}${sourceWindow ? ` · ${sourceWindow}` : ''}`
    : '';

  return (
    <div className="viewer" data-testid={testId}>
      <div className="viewer-toolbar" role="toolbar" aria-label="Image tools">
        <button type="button" onClick={() => zoom(ZOOM_STEP)} aria-label="Zoom in" title="Zoom in (+)" data-testid="viewer-zoom-in">
          +
        </button>
        <button type="button" onClick={() => zoom(1 / ZOOM_STEP)} aria-label="Zoom out" title="Zoom out (−)" data-testid="viewer-zoom-out">
          −
        </button>
        <button type="button" onClick={fit} aria-label="Fit image to view" title="Fit (0)" data-testid="viewer-fit">
          Fit
        </button>
        <button
          type="button"
          onClick={() => image && setWl(autoWindow(image.gray))}
          aria-label="Automatic window and level"
          title="Auto window (A)"
          data-testid="viewer-auto-window"
        >
          Auto W/L
        </button>
        <button type="button" onClick={() => setWl(FULL_WINDOW)} aria-label="Reset window and level" title="Full window" data-testid="viewer-reset-window">
          Full W/L
        </button>
        <button
          type="button"
          onClick={() => setInvert((x) => !x)}
          aria-pressed={invert}
          aria-label="Invert greys"
          title="Invert (I)"
          data-testid="viewer-invert"
        >
          Invert
        </button>
        <span className="viewer-status" aria-live="polite" data-testid="viewer-status">
          {status}
        </span>
      </div>
      <div className="viewer-canvas" ref={boxRef}>
        <canvas
          ref={canvasRef}
          tabIndex={0}
          role="application"
          aria-roledescription="image viewer"
          aria-label={label}
          aria-describedby={helpId}
          data-testid="viewer-canvas"
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerCancel={onPointerUp}
          onDoubleClick={fit}
          onContextMenu={(e) => e.preventDefault()}
          onKeyDown={onKeyDown}
        />
        {image && boxes.length > 0 && (
          <div className="viewer-boxes" data-testid="viewer-boxes" aria-label={`${boxes.length} boxes drawn by the model`} role="img">
            {boxes.map((b) => {
              const r = screenRect(b.box, view);
              const color = classColor(b.class);
              return (
                <div
                  key={b.index}
                  className={`viewer-box${b.mark === false ? ' rejected' : ''}`}
                  data-testid="viewer-box"
                  data-class={b.class}
                  data-index={b.index}
                  style={{ left: r.left, top: r.top, width: r.width, height: r.height, borderColor: color }}
                >
                  <span className="viewer-box-caption" style={{ background: color }}>
                    {boxCaption(b)}
                  </span>
                </div>
              );
            })}
          </div>
        )}
        {!src && !error && <p className="viewer-message">Loading image…</p>}
        {error && (
          <p className="viewer-message error" role="alert">
            {error}
          </p>
        )}
      </div>
      <p id={helpId} className="viewer-help">
        Drag to pan, wheel to zoom, right-drag or Shift+drag for window (horizontal) and level (vertical). Keys: arrows pan, + and − zoom, 0 fits, [ and ]
        window, comma and period level, A auto, I invert, R reset.
      </p>
    </div>
  );
}
