// A residual convolutional network (He et al. 2016, "Deep Residual Learning for Image Recognition"; the CIFAR-style
// variant of §4.2: a 3×3 stem at full resolution, no max-pool), written on the engine's graph builder. One function
// builds both graphs: in a 'train' graph BatchNorm uses batch statistics (and records its running-stat updates) and
// dropout is active; in an 'eval' graph BatchNorm uses the running statistics (the export folds it into the convs).
//
//   image [B, C, H, W]
//   → stem: Conv 3×3 stride 1 → BatchNorm → act                        → [B, stemChannels, H, W]
//   → stage i (i = 0 … n−1): depths[i] basic blocks of widths[i] channels, the first with stride strides[i]:
//        y = act(bn1(conv1(x)));  y = bn2(conv2(y));  x = act(shortcut(x) + y)
//     shortcut = identity, or bn(conv 1×1 stride s) where the block changes the shape (option B of the paper)
//   → global average pooling → dropout → Linear                       → logits [B, classes]
//
// Why this shape: the findings of the synthetic and real sets are small and thin (OCT drusen, nodules), so the first
// convolution sees every pixel, and the resolution is halved only after it; global average pooling credits a finding
// wherever it lies. Parameter names equal the PyTorch peer's state_dict keys (bench/peers/cnn_torch.py); the head's
// weight is [in, out] here (x·W), PyTorch's transposed.
import { EngineError, fedDropout, type Graph, init, type ModelBuilder, ops, type TensorRef } from '../engine/index.js';
import { classifierHead, type ClassifierOptions } from './classifier.js';
import { checkImageInput } from './images.js';
import { presetConfig } from './presets.js';

const { add, batchNorm, conv2d, globalAvgPool, linear, mul, relu, reshape, sigmoid } = ops;
const { kaimingNormal, ones, uniform, zeros } = init;

export const ACTIVATIONS = ['relu', 'silu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface CnnConfig {
  /** Tells a stored CNN config from a ViT config (which has no family). */
  family: 'cnn';
  name: string;
  /** Square input side in pixels. */
  imageSize: number;
  inChannels: number;
  /** Output channels of the 3×3 stride-1 stem convolution. */
  stemChannels: number;
  /** Channels of each stage. */
  widths: number[];
  /** Residual blocks of each stage. */
  depths: number[];
  /** Stride of each stage's first block (2 halves the resolution). */
  strides: number[];
  /** ReLU as in the paper, or SiLU (x·σ(x), Ramachandran et al. 2017), smoother for small batches. */
  activation: Activation;
  numClasses: number;
  /** Dropout on the pooled features, before the head. */
  dropout: number;
  batchNormEps: number;
  /** PyTorch convention: weight of the new batch statistic in the running average. */
  batchNormMomentum: number;
}

const COMMON = { family: 'cnn', inChannels: 1, numClasses: 9, activation: 'relu', batchNormEps: 1e-5, batchNormMomentum: 0.1 } as const;

export const CNN_CONFIGS = {
  /** Small enough to train in seconds (tests, examples): 32×32×1, ≈80k parameters. */
  'cnn-tiny': { ...COMMON, name: 'cnn-tiny', imageSize: 32, stemChannels: 8, widths: [16, 32, 64], depths: [1, 1, 1], strides: [1, 2, 2], dropout: 0 },
  /** 64×64×1: full-resolution stem, three stride-2 stages (64 → 8), ≈0.30M parameters. */
  'cnn-small': {
    ...COMMON,
    name: 'cnn-small',
    imageSize: 64,
    stemChannels: 16,
    widths: [32, 64, 128],
    depths: [1, 1, 1],
    strides: [2, 2, 2],
    dropout: 0.2,
  },
} as const satisfies Record<string, CnnConfig>;

export type CnnName = keyof typeof CNN_CONFIGS;

/** A named configuration with optional overrides (e.g. `{ numClasses: 2 }`), validated. */
export function cnnConfig(name: CnnName | string, overrides: Partial<CnnConfig> = {}): CnnConfig {
  return presetConfig<CnnConfig>('CNN', CNN_CONFIGS, name, overrides, validate);
}

export function isCnnConfig(cfg: { name: string; family?: string }): cfg is CnnConfig {
  return cfg.family === 'cnn';
}

function validate(cfg: CnnConfig): void {
  const bad = (msg: string): never => {
    throw new EngineError('invalid_argument', `CNN config '${cfg.name}': ${msg}`);
  };
  const n = cfg.widths.length;
  if (n === 0 || cfg.depths.length !== n || cfg.strides.length !== n) bad('widths, depths and strides must be non-empty and of equal length');
  if (![cfg.stemChannels, ...cfg.widths, ...cfg.depths, ...cfg.strides].every((v) => Number.isInteger(v) && v >= 1))
    bad('stemChannels, widths, depths and strides must be positive integers');
  const down = cfg.strides.reduce((a, b) => a * b, 1);
  if (cfg.imageSize % down !== 0) bad(`imageSize ${cfg.imageSize} is not divisible by the product of the strides (${down})`);
  if (!(cfg.numClasses >= 2)) bad('numClasses must be >= 2');
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) bad('dropout must be in [0, 1)');
  if (!(ACTIVATIONS as readonly string[]).includes(cfg.activation)) bad(`activation must be one of ${ACTIVATIONS.join(', ')}`);
}

/** Conv k×k (no bias: the BatchNorm after it has one) in the current scope, as `<name>.weight`. */
function conv(g: Graph, name: string, x: TensorRef, cin: number, cout: number, k: number, stride: number): TensorRef {
  // He init, fan-out mode (as ResNets are usually initialized: kaiming_normal_ with mode='fan_out').
  const w = g.param(`${name}.weight`, [cout, cin, k, k], kaimingNormal({ mode: 'fanOut' }));
  return conv2d(g, x, w, undefined, { stride, padding: (k - 1) / 2 });
}

function bn(g: Graph, name: string, x: TensorRef, cfg: CnnConfig): TensorRef {
  const c = x.shape[1] as number;
  const state = g.scope(name, () => ({
    scale: g.param('weight', [c], ones()),
    bias: g.param('bias', [c], zeros()),
    runningMean: g.buffer('running_mean', [c], zeros()),
    runningVar: g.buffer('running_var', [c], ones()),
  }));
  return batchNorm(g, x, state, { eps: cfg.batchNormEps, momentum: cfg.batchNormMomentum });
}

function activation(g: Graph, x: TensorRef, cfg: CnnConfig): TensorRef {
  return cfg.activation === 'silu' ? mul(g, x, sigmoid(g, x)) : relu(g, x);
}

/** One basic block (the paper's Fig. 2, left): two 3×3 convs and a shortcut. */
function basicBlock(g: Graph, x: TensorRef, cin: number, cout: number, stride: number, cfg: CnnConfig): TensorRef {
  const act = (t: TensorRef): TensorRef => activation(g, t, cfg);
  const conv1 = (t: TensorRef): TensorRef => conv(g, 'conv1', t, cin, cout, 3, stride);
  const conv2 = (t: TensorRef): TensorRef => conv(g, 'conv2', t, cout, cout, 3, 1);
  const bn1 = (t: TensorRef): TensorRef => bn(g, 'bn1', t, cfg);
  const bn2 = (t: TensorRef): TensorRef => bn(g, 'bn2', t, cfg);
  const reshaped = stride !== 1 || cin !== cout;
  const shortcut = (t: TensorRef): TensorRef => (reshaped ? g.scope('down', () => bn(g, 'bn', conv(g, 'conv', t, cin, cout, 1, stride), cfg)) : t);
  let y = act(bn1(conv1(x)));
  y = bn2(conv2(y));
  return act(add(g, shortcut(x), y));
}

/** Pooled features [B, widths[last]] of images [B, C, H, W] (B may be symbolic): everything before the head. */
function pooledFeatures(g: Graph, images: TensorRef, cfg: CnnConfig): TensorRef {
  validate(cfg);
  checkImageInput(images, cfg);
  const [batch] = images.shape;
  let x = g.scope('stem', () => activation(g, bn(g, 'bn', conv(g, 'conv', images, cfg.inChannels, cfg.stemChannels, 3, 1), cfg), cfg));
  let cin = cfg.stemChannels;
  cfg.widths.forEach((cout, s) => {
    for (let j = 0; j < (cfg.depths[s] as number); j++) {
      const [xi, ci, stride] = [x, cin, j === 0 ? (cfg.strides[s] as number) : 1];
      x = g.scope(`stages.${s}.${j}`, () => basicBlock(g, xi, ci, cout, stride, cfg));
      cin = cout;
    }
  });
  return reshape(g, globalAvgPool(g, x), [batch ?? -1, cin]);
}

/** The CNN applied to images [B, C, H, W]; returns logits [B, numClasses]. */
export function cnn(g: Graph, images: TensorRef, cfg: CnnConfig): TensorRef {
  return cnnFeatures(g, images, cfg).logits;
}

/** The CNN with the vector its head reads: embedding = the pooled features [B, widths[last]], logits = head(drop(embedding)). */
export function cnnFeatures(g: Graph, images: TensorRef, cfg: CnnConfig): { embedding: TensorRef; logits: TensorRef } {
  const embedding = pooledFeatures(g, images, cfg);
  const d = embedding.shape[1] as number;
  // PyTorch nn.Linear's default init: weight and bias U(±1/√fan_in).
  const bound = 1 / Math.sqrt(d);
  const logits = g.scope('head', () =>
    linear(
      g,
      fedDropout(g, embedding, cfg.dropout),
      g.param('weight', [d, cfg.numClasses], uniform(-bound, bound)),
      g.param('bias', [cfg.numClasses], uniform(-bound, bound)),
    ),
  );
  return { embedding, logits };
}

/**
 * The CNN as a session model: declares `images` [batch, C, H, W] (float32) and, in train mode, `labels`
 * [batch] (int64) with a softmax cross-entropy loss.
 */
export function cnnClassifier(cfg: CnnConfig, opts: ClassifierOptions = {}): ModelBuilder {
  validate(cfg);
  return classifierHead(cfg, opts, (g, images) => cnnFeatures(g, images, cfg));
}
