// One chest X-ray phantom for the detector: normal anatomy, zero to four of the 14 VinDr findings at
// plausible places and sizes, acquisition nuisance, and every finding's true box in output pixels
// (the boxes follow the patient through the positioning transform).
import { Rng } from '../../core/rng.js';
import { DETECTION_CLASSES, type DetectionClass } from '../classes.js';
import type { Box } from '../detection/types.js';
import { acquireCxr, CXR_SCANNERS } from './cxr-acquisition.js';
import { drawCxrAnatomy } from './cxr-anatomy.js';
import { applyFinding, type DensityClass, drawDensityFinding, findingExtent, heartBox, knobBox } from './cxr-detect-findings.js';
import { placePoint, toUint8 } from './raster.js';
import type { GrayImage } from './types.js';

/** A finding as drawn: its class, true box (output pixels) and how conspicuous it is, (0, 1]. */
export interface TrueFinding extends Box {
  severity: number;
}

export interface DetectPhantom extends GrayImage {
  findings: TrueFinding[];
  scanner: string;
}

export interface DetectRenderTask {
  seed: number;
  width: number;
  height: number;
  /** Probability that an image has no finding. */
  normalFraction: number;
}

/** How many findings an abnormal image has (1…4), as cumulative probabilities. */
const COUNT_CDF = [0.45, 0.75, 0.92, 1];
/** Above this size (px) the anatomy is drawn at half resolution (as the classification phantoms). */
const WORKING_RESOLUTION_LIMIT = 640;
/** A box mostly pushed out of the image by positioning is dropped, not clipped to a sliver. */
const MIN_VISIBLE_AREA = 0.4;

function drawClasses(rng: Rng, normalFraction: number): DetectionClass[] {
  if (rng.chance(normalFraction)) return [];
  const u = rng.next();
  const n = COUNT_CDF.findIndex((c) => u < c) + 1;
  const pool: DetectionClass[] = [...DETECTION_CLASSES];
  const out: DetectionClass[] = [];
  while (out.length < n) out.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]!);
  return out;
}

export function renderCxrDetect(task: DetectRenderTask): DetectPhantom {
  const rng = new Rng(task.seed);
  const planRng = rng.fork('plan');
  const anatomyRng = rng.fork('anatomy');
  const findingRng = rng.fork('finding');
  const acquisitionRng = rng.fork('acquisition');
  const scanner = rng.pick(CXR_SCANNERS);
  const classes = drawClasses(planRng, task.normalFraction);
  const severity = new Map(classes.map((c) => [c, planRng.uniform(0.3, 1)]));

  const work = Math.max(task.width, task.height) > WORKING_RESOLUTION_LIMIT ? 0.5 : 1;
  const cardio = severity.get('Cardiomegaly');
  const aortic = severity.get('Aortic enlargement');
  const anatomy = drawCxrAnatomy(Math.round(task.width * work), Math.round(task.height * work), anatomyRng, {
    heartScale: cardio === undefined ? 1 : 1.25 + 0.2 * cardio,
    knobScale: aortic === undefined ? 1 : 1.5 + 0.6 * aortic,
  });
  const boxes: Array<{ cls: DetectionClass; box: [number, number, number, number] }> = [];
  for (const cls of classes) {
    if (cls === 'Cardiomegaly') boxes.push({ cls, box: heartBox(anatomy) });
    else if (cls === 'Aortic enlargement') boxes.push({ cls, box: knobBox(anatomy) });
    else {
      const drawn = drawDensityFinding(cls as DensityClass, anatomy, severity.get(cls)!, findingRng);
      const box = findingExtent(drawn, anatomy);
      if (!box) continue;
      applyFinding(anatomy, drawn);
      boxes.push({ cls, box });
    }
  }
  const { image, placement } = acquireCxr(anatomy.atten, task.width, task.height, scanner, acquisitionRng);

  const findings: TrueFinding[] = [];
  for (const { cls, box } of boxes) {
    // Continuous corners → pixel-index coordinates (centre of pixel i is i + 0.5) → placed → back.
    const corners = [
      [box[0], box[1]],
      [box[2], box[1]],
      [box[0], box[3]],
      [box[2], box[3]],
    ].map(([x, y]) => placePoint(anatomy.width, anatomy.height, placement, x! - 0.5, y! - 0.5).map((v) => v + 0.5));
    const xs = corners.map((c) => c[0]!);
    const ys = corners.map((c) => c[1]!);
    const [x0, y0, x1, y1] = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    const cx0 = Math.max(0, x0);
    const cy0 = Math.max(0, y0);
    const cx1 = Math.min(task.width, x1);
    const cy1 = Math.min(task.height, y1);
    if (cx1 - cx0 < 2 || cy1 - cy0 < 2 || ((cx1 - cx0) * (cy1 - cy0)) / ((x1 - x0) * (y1 - y0)) < MIN_VISIBLE_AREA) continue;
    const r = (v: number) => Math.round(v * 10) / 10; // VinDr sheets carry one decimal
    findings.push({ classId: DETECTION_CLASSES.indexOf(cls), x0: r(cx0), y0: r(cy0), x1: r(cx1), y1: r(cy1), severity: severity.get(cls)! });
  }
  return { width: task.width, height: task.height, data: toUint8(image), findings, scanner };
}
