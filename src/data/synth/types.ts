// Shared shapes of the phantom generator's per-image API.
import type { SecondreadClass } from '../classes.js';

/** An 8-bit grayscale image, row-major, one byte per pixel. */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** What was drawn, for tests and the contact sheet (never written into the archives). */
export interface RenderInfo {
  cls: SecondreadClass;
  /** 0 for normal images; otherwise how conspicuous the finding is, 0 (invisible) .. 1 (obvious). */
  severity: number;
  /** Which simulated scanner/post-processing style was used. */
  scanner: string;
}

export interface RenderedImage extends GrayImage {
  info: RenderInfo;
}

export interface RenderOptions {
  width: number;
  height: number;
  /** Force a finding severity in (0, 1] instead of drawing one (contact sheets, tests). */
  severity?: number;
  /** Force a scanner style by name instead of drawing one. */
  scanner?: string;
}
