// An anchor-free one-stage detector in the style of YOLOv8 (Jocher et al., Ultralytics 2023; head after
// YOLOX/TOOD, box regression as a distribution after Li et al. 2020, "Generalized Focal Loss"), written on the
// engine's graph builder. One function builds the train graph (BatchNorm on batch statistics, running stats
// updated) and the eval graph (running statistics; folded into the convolutions at export).
//
//   image [B, C, S, S]
//   backbone   P1 = Conv₃ₛ₂ → P2 = Conv₃ₛ₂ → C2f → P3 = Conv₃ₛ₂ → C2f ─┐ (stride 8)
//                                          P4 = Conv₃ₛ₂ → C2f ────────┤ (stride 16)
//                                          P5 = Conv₃ₛ₂ → C2f → SPPF ─┤ (stride 32)
//   PAN neck   top-down:  up(P5) ‖ P4 → C2f = N4;  up(N4) ‖ P3 → C2f = out₈
//              bottom-up: Conv₃ₛ₂(out₈) ‖ N4 → C2f = out₁₆;  Conv₃ₛ₂(out₁₆) ‖ P5 → C2f = out₃₂
//   head       per level, decoupled: box branch Conv₃ → Conv₃ → Conv₁ → 4·regMax logits (a distribution over
//              distances 0…regMax−1 to the left/top/right/bottom edge, in stride units);
//              class branch Conv₃ → Conv₃ → Conv₁ → numClasses logits (sigmoid, no objectness)
//   Conv = Conv2d (no bias) → BatchNorm → SiLU.  C2f = Conv₁ → split in halves → n Bottlenecks on the last half,
//   each output kept → concat all → Conv₁.  SPPF = Conv₁ → 3 chained MaxPool₅ₛ₁ → concat the 4 → Conv₁.
//
// Channels and depths are YOLOv8's base (64…1024 channels; 3, 6, 6, 3 bottlenecks) scaled by `width` (rounded up
// to a multiple of 8) and `depth` (rounded, ≥ 1). Parameter names equal Ultralytics' state_dict keys
// (`model.<layer>.…`, layer numbers as in yolov8.yaml) and the PyTorch peer's (bench/peers/detector_torch.py).
import { type Dim, EngineError, Graph, graphFlops, init, type ModelBuilder, ops, type TensorRef } from '../engine/index.js';
import { type AssignerOptions, TAL_DEFAULTS } from './detector-assign.js';
import { assignInGraph } from './detector-assign-graph.js';
import { detectionLoss, type DetectionLossWeights } from './detector-loss.js';
import { presetConfig } from './presets.js';

const { add, batchNorm, concat, conv2d, maxPool2d, reshape, silu, split, transpose, upsampleNearest } = ops;

export interface DetectorConfig {
  name: string;
  /** Square input side in pixels (a multiple of 32). */
  imageSize: number;
  inChannels: number;
  numClasses: number;
  /** Channel multiplier of YOLOv8's base widths (nano 0.25, small 0.5). */
  width: number;
  /** Depth multiplier of YOLOv8's bottleneck counts (nano and small 0.33). */
  depth: number;
  /** Cap on the base width before scaling (YOLOv8: 1024 for n/s/m). */
  maxChannels: number;
  /** Bins of each side's distance distribution (DFL). */
  regMax: number;
  batchNormEps: number;
  /** PyTorch convention: weight of the new batch statistic in the running average. */
  batchNormMomentum: number;
}

/** Strides of the three output levels. */
export const DETECTOR_STRIDES = [8, 16, 32] as const;

const COMMON = { inChannels: 1, numClasses: 14, maxChannels: 1024, regMax: 16, batchNormEps: 1e-3, batchNormMomentum: 0.03 };

export const DETECTOR_CONFIGS = {
  /** YOLOv8n's scaling (3.2M parameters with 80 classes and RGB input); 256 px fits a CPU for synthetic data. */
  'det-nano': { ...COMMON, name: 'det-nano', imageSize: 256, width: 0.25, depth: 0.33 },
  /** YOLOv8s's scaling (11.2M parameters with 80 classes and RGB input). */
  'det-small': { ...COMMON, name: 'det-small', imageSize: 512, width: 0.5, depth: 0.33 },
} as const satisfies Record<string, DetectorConfig>;

export type DetectorName = keyof typeof DETECTOR_CONFIGS;

/** A named configuration with optional overrides (e.g. `{ imageSize: 512 }`), validated. */
export function detectorConfig(name: DetectorName | string, overrides: Partial<DetectorConfig> = {}): DetectorConfig {
  return presetConfig<DetectorConfig>('detector', DETECTOR_CONFIGS, name, overrides, validateDetector);
}

export function validateDetector(cfg: DetectorConfig): void {
  const bad = (msg: string): never => {
    throw new EngineError('invalid_argument', `detector config '${cfg.name}': ${msg}`);
  };
  if (!Number.isInteger(cfg.imageSize) || cfg.imageSize < 32 || cfg.imageSize % 32 !== 0)
    bad(`imageSize must be a positive multiple of 32, got ${cfg.imageSize}`);
  if (!Number.isInteger(cfg.inChannels) || cfg.inChannels < 1) bad('inChannels must be a positive integer');
  if (!Number.isInteger(cfg.numClasses) || cfg.numClasses < 1) bad('numClasses must be a positive integer');
  if (!(cfg.width > 0 && cfg.width <= 4)) bad('width must be in (0, 4]');
  if (!(cfg.depth > 0 && cfg.depth <= 4)) bad('depth must be in (0, 4]');
  if (!Number.isInteger(cfg.regMax) || cfg.regMax < 2) bad('regMax must be an integer >= 2');
  if (!(cfg.batchNormEps > 0) || !(cfg.batchNormMomentum > 0 && cfg.batchNormMomentum <= 1)) bad('batchNormEps must be > 0 and batchNormMomentum in (0, 1]');
}

/** Scaled channel count: min(c, maxChannels)·width rounded up to a multiple of 8 (Ultralytics' make_divisible). */
export const channels = (cfg: DetectorConfig, c: number): number => Math.ceil((Math.min(c, cfg.maxChannels) * cfg.width) / 8) * 8;
/** Scaled bottleneck count: round(n·depth), at least 1. */
export const repeats = (cfg: DetectorConfig, n: number): number => Math.max(Math.round(n * cfg.depth), 1);

/** Grid side of each level and the total number of anchor points (one per cell of every level). */
export function detectorGrid(cfg: DetectorConfig): { sides: number[]; anchors: number } {
  const sides = DETECTOR_STRIDES.map((s) => cfg.imageSize / s);
  return { sides, anchors: sides.reduce((a, s) => a + s * s, 0) };
}

/**
 * Anchor points in the order of the head's outputs (level by level, rows then columns): cell centres in grid units of
 * their level (x + 0.5, y + 0.5), and each anchor's stride.
 */
export function anchorPoints(cfg: DetectorConfig): { points: Float64Array; strides: Float64Array } {
  const { sides, anchors } = detectorGrid(cfg);
  const points = new Float64Array(2 * anchors);
  const strides = new Float64Array(anchors);
  let a = 0;
  sides.forEach((side, level) => {
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++, a++) {
        points[2 * a] = x + 0.5;
        points[2 * a + 1] = y + 0.5;
        strides[a] = DETECTOR_STRIDES[level] as number;
      }
    }
  });
  return { points, strides };
}

// PyTorch's Conv2d default weight init, kaiming_uniform(a = √5): U(±1/√fan_in). (The only biases, the head's last
// layers, are set by the head's prior.)
const torchConvWeight = init.kaimingUniform({ gain: Math.sqrt(1 / 3) });

/** Conv k×k stride s (padding k/2, no bias) → BatchNorm → SiLU, parameters `<scope>.conv.weight`, `<scope>.bn.*`. */
function conv(g: Graph, x: TensorRef, cin: number, cout: number, k: number, s: number, cfg: DetectorConfig): TensorRef {
  const y = conv2d(g, x, g.param('conv.weight', [cout, cin, k, k], torchConvWeight), undefined, { stride: s, padding: Math.floor(k / 2) });
  const bn = g.scope('bn', () => ({
    scale: g.param('weight', [cout], init.ones()),
    bias: g.param('bias', [cout], init.zeros()),
    runningMean: g.buffer('running_mean', [cout], init.zeros()),
    runningVar: g.buffer('running_var', [cout], init.ones()),
  }));
  return silu(g, batchNorm(g, y, bn, { eps: cfg.batchNormEps, momentum: cfg.batchNormMomentum }));
}

const scoped = <T>(g: Graph, name: string, f: () => T): T => g.scope(name, f);

/** Bottleneck: x + cv2(cv1(x)) (two 3×3 Convs; the residual only when asked). */
function bottleneck(g: Graph, x: TensorRef, c: number, shortcut: boolean, cfg: DetectorConfig): TensorRef {
  const h = scoped(g, 'cv1', () => conv(g, x, c, c, 3, 1, cfg));
  const y = scoped(g, 'cv2', () => conv(g, h, c, c, 3, 1, cfg));
  return shortcut ? add(g, x, y) : y;
}

/** C2f: cv1 to 2c channels, split in halves, n bottlenecks chained on the last half, all parts concatenated, cv2. */
function c2f(g: Graph, x: TensorRef, c1: number, c2: number, n: number, shortcut: boolean, cfg: DetectorConfig): TensorRef {
  const c = Math.floor(c2 / 2);
  const ys = split(
    g,
    scoped(g, 'cv1', () => conv(g, x, c1, 2 * c, 1, 1, cfg)),
    [c, c],
    1,
  );
  for (let i = 0; i < n; i++) {
    const last = ys[ys.length - 1] as TensorRef;
    ys.push(scoped(g, `m.${i}`, () => bottleneck(g, last, c, shortcut, cfg)));
  }
  return scoped(g, 'cv2', () => conv(g, concat(g, ys, 1), (2 + n) * c, c2, 1, 1, cfg));
}

/** SPPF: cv1 to c1/2, three chained 5×5 stride-1 max pools (receptive fields 5, 9, 13), concat the four, cv2. */
function sppf(g: Graph, x: TensorRef, c1: number, c2: number, cfg: DetectorConfig): TensorRef {
  const c = Math.floor(c1 / 2);
  const ys = [scoped(g, 'cv1', () => conv(g, x, c1, c, 1, 1, cfg))];
  for (let i = 0; i < 3; i++) ys.push(maxPool2d(g, ys[i] as TensorRef, { kernel: 5, stride: 1, padding: 2 }));
  return scoped(g, 'cv2', () => conv(g, concat(g, ys, 1), 4 * c, c2, 1, 1, cfg));
}

/** Plain Conv2d 1×1 with bias (the head's last layer), parameters `<scope>.weight`, `<scope>.bias`. */
function conv1x1(g: Graph, x: TensorRef, cin: number, cout: number, bias: init.Initializer): TensorRef {
  return conv2d(g, x, g.param('weight', [cout, cin, 1, 1], torchConvWeight), g.param('bias', [cout], bias));
}

/** Raw head outputs of all levels, anchors in anchorPoints' order: box logits [B, A, 4·regMax] and class logits [B, A, nc]. */
export interface DetectorHead {
  boxLogits: TensorRef;
  classLogits: TensorRef;
}

/**
 * The decoupled head on the three neck outputs. Initial biases as Ultralytics' Detect.bias_init: box logits 1 (a flat
 * distance distribution), class logits log(5 / nc / (S/stride)²) — a prior of ≈ 5 objects per image spread over the
 * cells of a level.
 */
function head(g: Graph, feats: TensorRef[], chans: number[], cfg: DetectorConfig): DetectorHead {
  const { regMax, numClasses: nc } = cfg;
  const cBox = Math.max(16, Math.floor((chans[0] as number) / 4), 4 * regMax);
  const cCls = Math.max(chans[0] as number, Math.min(nc, 100));
  const b = feats[0]!.shape[0] as Dim;
  const boxes: TensorRef[] = [];
  const classes: TensorRef[] = [];
  feats.forEach((f, i) => {
    const cin = chans[i] as number;
    const stride = DETECTOR_STRIDES[i] as number;
    const flat = (t: TensorRef, c: number): TensorRef => reshape(g, t, [b, c, (cfg.imageSize / stride) ** 2]);
    // Box and class branches: Conv₃ → Conv₃ → Conv₁ (Sequential indices 0, 1, 2 in Ultralytics' names).
    const branch = (name: string, cmid: number, cout: number, bias: init.Initializer): TensorRef =>
      scoped(g, name, () => {
        const h0 = scoped(g, '0', () => conv(g, f, cin, cmid, 3, 1, cfg));
        const h1 = scoped(g, '1', () => conv(g, h0, cmid, cmid, 3, 1, cfg));
        return scoped(g, '2', () => conv1x1(g, h1, cmid, cout, bias));
      });
    const box = branch(`cv2.${i}`, cBox, 4 * regMax, init.constant(1));
    const cls = branch(`cv3.${i}`, cCls, nc, init.constant(Math.log(5 / nc / (cfg.imageSize / stride) ** 2)));
    boxes.push(flat(box, 4 * regMax));
    classes.push(flat(cls, nc));
  });
  return {
    boxLogits: transpose(g, concat(g, boxes, 2), [0, 2, 1]),
    classLogits: transpose(g, concat(g, classes, 2), [0, 2, 1]),
  };
}

/** The detector on images [B, C, S, S] (B may be symbolic): backbone, PAN neck and head, as in the header. */
export function detector(g: Graph, images: TensorRef, cfg: DetectorConfig): DetectorHead {
  validateDetector(cfg);
  const [, c, h, w] = images.shape;
  if (c !== cfg.inChannels || h !== cfg.imageSize || w !== cfg.imageSize) {
    throw new EngineError(
      'shape_mismatch',
      `${cfg.name} expects images [B, ${cfg.inChannels}, ${cfg.imageSize}, ${cfg.imageSize}], got [${images.shape.join(', ')}]`,
    );
  }
  const ch = (base: number): number => channels(cfg, base);
  const n = (base: number): number => repeats(cfg, base);
  const layer = <T>(i: number, f: () => T): T => scoped(g, `model.${i}`, f);

  // Backbone
  const p1 = layer(0, () => conv(g, images, cfg.inChannels, ch(64), 3, 2, cfg));
  const p2 = layer(1, () => conv(g, p1, ch(64), ch(128), 3, 2, cfg));
  const c2 = layer(2, () => c2f(g, p2, ch(128), ch(128), n(3), true, cfg));
  const p3 = layer(3, () => conv(g, c2, ch(128), ch(256), 3, 2, cfg));
  const c3 = layer(4, () => c2f(g, p3, ch(256), ch(256), n(6), true, cfg));
  const p4 = layer(5, () => conv(g, c3, ch(256), ch(512), 3, 2, cfg));
  const c4 = layer(6, () => c2f(g, p4, ch(512), ch(512), n(6), true, cfg));
  const p5 = layer(7, () => conv(g, c4, ch(512), ch(1024), 3, 2, cfg));
  const c5 = layer(8, () => c2f(g, p5, ch(1024), ch(1024), n(3), true, cfg));
  const s5 = layer(9, () => sppf(g, c5, ch(1024), ch(1024), cfg));

  // PAN neck: top-down (layers 10–15), then bottom-up (16–21)
  const up = (x: TensorRef): TensorRef => upsampleNearest(g, x, 2);
  const n4 = layer(12, () => c2f(g, concat(g, [up(s5), c4], 1), ch(1024) + ch(512), ch(512), n(3), false, cfg));
  const out8 = layer(15, () => c2f(g, concat(g, [up(n4), c3], 1), ch(512) + ch(256), ch(256), n(3), false, cfg));
  const d8 = layer(16, () => conv(g, out8, ch(256), ch(256), 3, 2, cfg));
  const out16 = layer(18, () => c2f(g, concat(g, [d8, n4], 1), ch(256) + ch(512), ch(512), n(3), false, cfg));
  const d16 = layer(19, () => conv(g, out16, ch(512), ch(512), 3, 2, cfg));
  const out32 = layer(21, () => c2f(g, concat(g, [d16, s5], 1), ch(512) + ch(1024), ch(1024), n(3), false, cfg));

  return layer(22, () => head(g, [out8, out16, out32], [ch(256), ch(512), ch(1024)], cfg));
}

export interface DetectorModelOptions {
  /** Name of the image input (default 'images'). */
  input?: string;
  /** Gains of the box (CIoU), class (BCE) and DFL terms; default YOLOv8's 7.5, 0.5, 1.5. */
  lossWeights?: Partial<DetectionLossWeights>;
  /**
   * Where the loss's targets come from, in train mode:
   * - 'assigner' (default): the task-aligned assigner inside the graph (./detector-assign-graph.ts) from the padded
   *   ground truth — inputs `gt_boxes` [batch, objects, 4] (input pixels, zero rows for padding) and `gt_labels`
   *   [batch, objects] (int64): one forward per step;
   * - 'inputs': the targets themselves — `target_scores` [batch, A, nc], `target_boxes` [batch, A, 4] (x0, y0, x1,
   *   y1 in grid units of each anchor's level), `fg` [batch, A] — as ./detector-assign.ts computes them on the host
   *   (the PyTorch parity tests feed one set of targets to both sides);
   * - false: no targets and no loss, also in train mode (a training-mode forward only).
   */
  targets?: 'assigner' | 'inputs' | false;
  /** The in-graph assigner's top-k, α and β (default TAL_DEFAULTS). */
  assigner?: AssignerOptions;
}

/**
 * The detector as a session model. Declares `images` [batch, C, S, S] and returns as `logits` the head's raw
 * output [batch, A, 4·regMax + nc] (box logits then class logits per anchor). In train mode it also declares the
 * inputs its `targets` option names and returns the loss of ./detector-loss.ts.
 */
export function detectorModel(cfg: DetectorConfig, opts: DetectorModelOptions = {}): ModelBuilder {
  validateDetector(cfg);
  const inputName = opts.input ?? 'images';
  const source = opts.targets ?? 'assigner';
  return (g: Graph) => {
    const images = g.input(inputName, 'float32', ['batch', cfg.inChannels, cfg.imageSize, cfg.imageSize]);
    const out = detector(g, images, cfg);
    const logits = concat(g, [out.boxLogits, out.classLogits], 2);
    if (g.mode === 'eval' || source === false) return { logits };
    const { anchors } = detectorGrid(cfg);
    const targets =
      source === 'inputs'
        ? {
            scores: g.input('target_scores', 'float32', ['batch', anchors, cfg.numClasses]),
            boxes: g.input('target_boxes', 'float32', ['batch', anchors, 4]),
            fg: g.input('fg', 'float32', ['batch', anchors]),
          }
        : assignInGraph(
            g,
            out,
            { boxes: g.input(GT_INPUT.boxes, 'float32', ['batch', 'objects', 4]), labels: g.input(GT_INPUT.labels, 'int64', ['batch', 'objects']) },
            cfg,
            opts.assigner ?? TAL_DEFAULTS,
          );
    return { logits, loss: detectionLoss(g, out, targets, cfg, opts.lossWeights).total };
  };
}

/** Names of the padded ground-truth inputs of the in-graph assigner. */
export const GT_INPUT = { boxes: 'gt_boxes', labels: 'gt_labels' } as const;

/** Forward FLOPs per image (2 × multiply–accumulates of every convolution, as Ultralytics reports GFLOPs). */
export function detectorFlops(cfg: DetectorConfig): number {
  const g = new Graph('flops', { mode: 'eval' });
  detector(g, g.input('images', 'float32', [1, cfg.inChannels, cfg.imageSize, cfg.imageSize]), cfg);
  return graphFlops(g).byOp.Conv ?? 0;
}

/** Trainable parameters (BatchNorm running statistics and the fixed DFL projection not included). */
export function detectorParameterCount(cfg: DetectorConfig): number {
  const g = new Graph('count', { mode: 'eval' });
  detector(g, g.input('images', 'float32', [1, cfg.inChannels, cfg.imageSize, cfg.imageSize]), cfg);
  return g.params().reduce((a, p) => a + p.shape.reduce<number>((x, d) => x * (d as number), 1), 0);
}
