// Vision Transformer with a convolutional stem (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words";
// conv stem after Xiao et al. 2021, "Early Convolutions Help Transformers See Better"), written on the engine's
// graph builder. One function builds both graphs: in a 'train' graph BatchNorm uses batch statistics (and records
// its running-stat updates) and dropout and drop path are active; in an 'eval' graph BatchNorm uses the running
// statistics and dropout and drop path disappear.
//
//   image [B, C, H, W]
//   → stem: one (Conv 3×3 → BatchNorm → ReLU) per entry of stemStrides (any length; the presets use three,
//     strides 2, 2, 1, channels ending at 128)                       → [B, C_stem, H/s, W/s], s = Π stemStrides
//   → patch embedding: Conv p×p stride p                             → [B, D, g, g] → tokens [B, g², D]
//   → prepend [CLS], add learnable positional embeddings            → [B, g² + 1, D]
//   → depth × pre-LN block: x = x + dropPath(drop(attn(ln1(x)))); x = x + dropPath(drop(mlp(ln2(x))))
//     (dropPath: stochastic depth, Huang et al. 2016 — a residual branch dropped whole per sample, at a rate rising
//      linearly from 0 in the first block to cfg.dropPath in the last, as timm's drop_path_rate)
//   → LN([CLS]) → Linear → logits [B, classes]
//     (pool 'mean': LN(mean of the patch tokens) instead of LN([CLS]); the [CLS] token stays in the sequence)
//
// Parameter names equal the PyTorch peer's state_dict keys (bench/peers/vit_torch.py) so weights move between the
// two as one safetensors file; Linear weights are [in, out] here (x·W), PyTorch's transposed.
import { type Dim, EngineError, fedDropout, fedDropPath, type Graph, init, type ModelBuilder, ops, type TensorRef } from '../engine/index.js';
import { classifierHead, type ClassifierOptions } from './classifier.js';
import { checkImageInput } from './images.js';
import { presetConfig } from './presets.js';

const { add, batchNorm, concat, conv2d, gelu, layerNorm, linear, matmul, mul, reduceMean, relu, reshape, slice, softmax, split, transpose } = ops;
const { kaimingNormal, ones, truncatedNormal, uniform, zeros } = init;

export interface ViTConfig {
  name: string;
  /** Square input side in pixels. */
  imageSize: number;
  inChannels: number;
  /** Output channels of the stem convolutions, one per stem layer. */
  stemChannels: number[];
  /** Strides of the stem convolutions, one per stem layer (product = stem downsampling). */
  stemStrides: number[];
  /** Side of a patch on the stem's output grid. */
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  mlpDim: number;
  numClasses: number;
  /** Dropout on both residual branches of every block. */
  dropout: number;
  /** Stochastic depth: drop-path rate of the last block (linearly from 0 in the first; default 0 = off). */
  dropPath?: number;
  layerNormEps: number;
  batchNormEps: number;
  /** PyTorch convention: weight of the new batch statistic in the running average. */
  batchNormMomentum: number;
  /**
   * Initialization of the Linear layers. 'trunc-normal' (default): timm's ViT, weights N(0, 0.02²) truncated at
   * ±2σ, zero bias. 'fan-in-uniform': PyTorch nn.Linear's default, weight and bias U(±1/√fan_in) — on small data
   * the model leaves the "modality only" plateau of the tiny init far sooner (docs/training.md, Limits).
   */
  linearInit?: LinearInit;
  /**
   * What the head reads. 'cls' (default): the [CLS] token, as in the paper. 'mean': the mean of the patch tokens
   * (global average pooling, as timm's global_pool='avg' and Beyer et al. 2022, "Better plain ViT baselines"), the
   * aggregation a CNN uses: a finding counts wherever it lies.
   */
  pool?: Pool;
}

export const LINEAR_INITS = ['trunc-normal', 'fan-in-uniform'] as const;
export type LinearInit = (typeof LINEAR_INITS)[number];
export const POOLS = ['cls', 'mean'] as const;
export type Pool = (typeof POOLS)[number];

const COMMON = { inChannels: 1, stemStrides: [2, 2, 1], layerNormEps: 1e-5, batchNormEps: 1e-5, batchNormMomentum: 0.1 };

export const VIT_CONFIGS = {
  /** Small enough to train in seconds (tests, examples). */
  'vit-tiny': {
    ...COMMON,
    name: 'vit-tiny',
    imageSize: 32,
    stemChannels: [8, 16, 32],
    patchSize: 2,
    dim: 32,
    depth: 2,
    heads: 2,
    mlpDim: 64,
    numClasses: 9,
    dropout: 0.1,
  },
  /** The reference model of the benchmarks: 64×64×1, ≈2.0M parameters. */
  'vit-small': {
    ...COMMON,
    name: 'vit-small',
    imageSize: 64,
    stemChannels: [32, 64, 128],
    patchSize: 2,
    dim: 192,
    depth: 6,
    heads: 6,
    mlpDim: 384,
    numClasses: 9,
    dropout: 0.1,
  },
  /** The seed model: 128×128×1, ≈5.0M parameters. */
  'vit-seed': {
    ...COMMON,
    name: 'vit-seed',
    imageSize: 128,
    stemChannels: [32, 64, 128],
    patchSize: 2,
    dim: 256,
    depth: 6,
    heads: 8,
    mlpDim: 1024,
    numClasses: 9,
    dropout: 0.1,
  },
} as const satisfies Record<string, ViTConfig>;

export type ViTName = keyof typeof VIT_CONFIGS;

/** A named configuration with optional overrides (e.g. `{ numClasses: 2 }`), validated. */
export function vitConfig(name: ViTName | string, overrides: Partial<ViTConfig> = {}): ViTConfig {
  return presetConfig<ViTConfig>('ViT', VIT_CONFIGS, name, overrides, validate);
}

function validate(cfg: ViTConfig): void {
  const bad = (msg: string): never => {
    throw new EngineError('invalid_argument', `ViT config '${cfg.name}': ${msg}`);
  };
  if (cfg.stemChannels.length !== cfg.stemStrides.length || cfg.stemChannels.length === 0)
    bad('stemChannels and stemStrides must be non-empty and of equal length');
  const down = cfg.stemStrides.reduce((a, b) => a * b, 1) * cfg.patchSize;
  if (cfg.imageSize % down !== 0) bad(`imageSize ${cfg.imageSize} is not divisible by stem stride × patch size = ${down}`);
  if (cfg.dim % cfg.heads !== 0) bad(`dim ${cfg.dim} is not divisible by heads ${cfg.heads}`);
  if (!(cfg.numClasses >= 2)) bad('numClasses must be >= 2');
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) bad('dropout must be in [0, 1)');
  if (cfg.dropPath !== undefined && !(cfg.dropPath >= 0 && cfg.dropPath < 1)) bad('dropPath must be in [0, 1)');
  if (cfg.linearInit !== undefined && !(LINEAR_INITS as readonly string[]).includes(cfg.linearInit))
    bad(`linearInit must be one of ${LINEAR_INITS.join(', ')}`);
  if (cfg.pool !== undefined && !(POOLS as readonly string[]).includes(cfg.pool)) bad(`pool must be one of ${POOLS.join(', ')}`);
}

/** Tokens per image, [CLS] included. */
export function sequenceLength(cfg: ViTConfig): number {
  const grid = cfg.imageSize / cfg.stemStrides.reduce((a, b) => a * b, 1) / cfg.patchSize;
  return grid * grid + 1;
}

/** Linear layer `name` (weight [in, out], bias [out]). */
function dense(g: Graph, name: string, x: TensorRef, inDim: number, outDim: number, cfg: ViTConfig): TensorRef {
  const bound = 1 / Math.sqrt(inDim);
  const [w, b] = cfg.linearInit === 'fan-in-uniform' ? [uniform(-bound, bound), uniform(-bound, bound)] : [truncatedNormal(0.02), zeros()];
  return g.scope(name, () => linear(g, x, g.param('weight', [inDim, outDim], w), g.param('bias', [outDim], b)));
}

function norm(g: Graph, name: string, x: TensorRef, dim: number, eps: number): TensorRef {
  return g.scope(name, () => layerNorm(g, x, g.param('weight', [dim], ones()), g.param('bias', [dim], zeros()), { eps }));
}

function convBnRelu(g: Graph, x: TensorRef, cin: number, cout: number, stride: number, cfg: ViTConfig): TensorRef {
  const w = g.param('conv.weight', [cout, cin, 3, 3], kaimingNormal({ mode: 'fanOut' }));
  const y = conv2d(g, x, w, undefined, { stride, padding: 1 });
  const bn = g.scope('bn', () => ({
    scale: g.param('weight', [cout], ones()),
    bias: g.param('bias', [cout], zeros()),
    runningMean: g.buffer('running_mean', [cout], zeros()),
    runningVar: g.buffer('running_var', [cout], ones()),
  }));
  return relu(g, batchNorm(g, y, bn, { eps: cfg.batchNormEps, momentum: cfg.batchNormMomentum }));
}

/** Multi-head self-attention over x [B, T, D]. */
function attention(g: Graph, x: TensorRef, cfg: ViTConfig): TensorRef {
  const [b, t, d] = x.shape as [Dim, number, number];
  const h = cfg.heads;
  const dh = d / h;
  const qkv = reshape(g, dense(g, 'qkv', x, d, 3 * d, cfg), [b, t, 3, h, dh]);
  const [q, k, v] = split(g, qkv, [1, 1, 1], 2).map((u: TensorRef) => reshape(g, u, [b, t, h, dh])) as [TensorRef, TensorRef, TensorRef];
  // Scores softmax(q·kᵀ/√dh): the scale is applied to q ([B,H,T,dh]), cheaper than to the [B,H,T,T] scores.
  const qh = mul(g, transpose(g, q, [0, 2, 1, 3]), 1 / Math.sqrt(dh));
  const kT = transpose(g, k, [0, 2, 3, 1]);
  const scores = softmax(g, matmul(g, qh, kT), -1);
  const y = matmul(g, scores, transpose(g, v, [0, 2, 1, 3]));
  return dense(g, 'proj', reshape(g, transpose(g, y, [0, 2, 1, 3]), [b, t, d]), d, d, cfg);
}

/** The MLP of a block: fc2(gelu(fc1(x))). */
function mlp(g: Graph, x: TensorRef, cfg: ViTConfig): TensorRef {
  return dense(g, 'fc2', gelu(g, dense(g, 'fc1', x, cfg.dim, cfg.mlpDim, cfg)), cfg.mlpDim, cfg.dim, cfg);
}

/** The drop-path rate of block i: linear from 0 (first block) to cfg.dropPath (last), as torch.linspace(0, p, depth). */
export function dropPathRate(cfg: ViTConfig, i: number): number {
  const p = cfg.dropPath ?? 0;
  return cfg.depth > 1 ? (p * i) / (cfg.depth - 1) : 0;
}

/**
 * Layer-wise learning-rate decay (BEiT, Bao et al. 2022; timm's param_groups_layer_decay): the factor of a
 * parameter is decay^(depth + 1 − layer), layer 0 being the stem, patch embedding, [CLS] and positional
 * embeddings, layer i + 1 block i, and layer depth + 1 the final norm and head (factor 1, the full rate).
 */
export function layerDecayFactor(cfg: ViTConfig, decay: number): (name: string) => number {
  if (!(decay > 0 && decay <= 1)) throw new EngineError('invalid_argument', `layer decay must be in (0, 1], got ${decay}`);
  return (name) => {
    const block = /^blocks\.(\d+)\./.exec(name);
    const layer = block ? Number(block[1]) + 1 : /^(norm|head)\./.test(name) ? cfg.depth + 1 : 0;
    return decay ** (cfg.depth + 1 - layer);
  };
}

/** One pre-LN transformer block, as in the paper (eq. 2–3), with stochastic depth at rate `pathRate`. */
function block(g: Graph, x: TensorRef, cfg: ViTConfig, pathRate: number): TensorRef {
  const ln1 = (t: TensorRef): TensorRef => norm(g, 'ln1', t, cfg.dim, cfg.layerNormEps);
  const ln2 = (t: TensorRef): TensorRef => norm(g, 'ln2', t, cfg.dim, cfg.layerNormEps);
  const attn = (t: TensorRef): TensorRef => g.scope('attn', () => attention(g, t, cfg));
  const ffn = (t: TensorRef): TensorRef => g.scope('mlp', () => mlp(g, t, cfg));
  const drop = (t: TensorRef): TensorRef => fedDropPath(g, fedDropout(g, t, cfg.dropout), pathRate);
  x = add(g, x, drop(attn(ln1(x))));
  x = add(g, x, drop(ffn(ln2(x))));
  return x;
}

/** The ViT applied to images [B, C, H, W] (B may be symbolic); returns logits [B, numClasses]. */
export function vit(g: Graph, images: TensorRef, cfg: ViTConfig): TensorRef {
  return vitFeatures(g, images, cfg).logits;
}

/** The ViT with the vector its head reads: embedding = norm(pooled) [B, dim], logits = head(embedding). */
export function vitFeatures(g: Graph, images: TensorRef, cfg: ViTConfig): { embedding: TensorRef; logits: TensorRef } {
  validate(cfg);
  checkImageInput(images, cfg);
  const [batch] = images.shape;
  const b = batch as Dim;
  const chans = [cfg.inChannels, ...cfg.stemChannels];
  let x = images;
  cfg.stemStrides.forEach((s, i) => {
    x = g.scope(`stem.${i}`, () => convBnRelu(g, x, chans[i] as number, chans[i + 1] as number, s, cfg));
  });

  const d = cfg.dim;
  const p = cfg.patchSize;
  const patches = g.scope('patch', () =>
    conv2d(g, x, g.param('weight', [d, chans[chans.length - 1] as number, p, p], truncatedNormal(0.02)), g.param('bias', [d], zeros()), { stride: p }),
  );
  const n = sequenceLength(cfg) - 1;
  const tokens = transpose(g, reshape(g, patches, [b, d, n]), [0, 2, 1]); // [B, n, D]

  // [CLS] is one learned token broadcast over the batch: Expand to the runtime batch size.
  const cls = g.param('cls_token', [1, 1, d], truncatedNormal(0.02));
  const clsShape = concat(g, [slice(g, g.op('Shape', [tokens]), { starts: [0], ends: [1] }), g.ints([1, d])], 0);
  const seq = concat(g, [g.op('Expand', [cls, clsShape]), tokens], 1);
  x = add(g, seq, g.param('pos_embed', [1, n + 1, d], truncatedNormal(0.02)));

  for (let i = 0; i < cfg.depth; i++) {
    const xi = x;
    x = g.scope(`blocks.${i}`, () => block(g, xi, cfg, dropPathRate(cfg, i)));
  }
  // LayerNorm is per token, so normalizing only [CLS] equals normalizing all tokens and taking [CLS]. Mean pooling
  // normalizes the mean (timm's fc_norm order), so the head sees one normalized vector either way.
  const pooled =
    cfg.pool === 'mean'
      ? reduceMean(g, slice(g, x, { starts: [1], ends: [n + 1], axes: [1] }), [1])
      : reshape(g, slice(g, x, { starts: [0], ends: [1], axes: [1] }), [b, d]);
  const embedding = norm(g, 'norm', pooled, d, cfg.layerNormEps);
  return { embedding, logits: dense(g, 'head', embedding, d, cfg.numClasses, cfg) };
}

/**
 * The ViT as a session model: declares `images` [batch, C, H, W] (float32) and, in train mode, `labels`
 * [batch] (int64) with a softmax cross-entropy loss.
 */
export function vitClassifier(cfg: ViTConfig, opts: ClassifierOptions = {}): ModelBuilder {
  validate(cfg);
  return classifierHead(cfg, opts, (g, images) => vitFeatures(g, images, cfg));
}
