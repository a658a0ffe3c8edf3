// Parameter initializers. Every value comes from a seeded generator, and each parameter's generator is
// seeded from (graph seed, parameter name), so adding a parameter never changes the values of the others
// and two builds of the same model with the same seed are bit-identical.
import { EngineError } from './errors.js';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
}

/** xoshiro128** seeded through splitmix32: small, fast, and good enough for weight init and test data. */
export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const st = [split(), split(), split(), split()] as [number, number, number, number];
  const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(st[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (st[1] << 9) >>> 0;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl(st[3], 11);
    return result;
  };
  let spare: number | undefined;
  const next = (): number => (nextU32() * 2 ** 21 + (nextU32() >>> 11)) / 2 ** 53;
  return {
    next,
    normal(): number {
      if (spare !== undefined) {
        const v = spare;
        spare = undefined;
        return v;
      }
      // Box–Muller; 1 - u keeps the log argument in (0, 1].
      const u = 1 - next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** FNV-1a of the name mixed with the base seed: a per-parameter seed. */
export function seedFor(baseSeed: number, name: string): number {
  let h = (0x811c9dc5 ^ baseSeed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export interface Initializer {
  /** Human-readable description, e.g. "kaimingNormal(fanIn=64, gain=1.414)". */
  readonly description: string;
  fill(shape: readonly number[], rng: Rng): Float64Array;
}

/**
 * Weight layout decides which dimension is fan-in. 'out-in' is PyTorch's Linear/Conv layout ([out, in, k…]);
 * 'in-out' is a MatMul weight ([in, out]), the layout the engine's `linear` uses.
 */
export type WeightLayout = 'out-in' | 'in-out';

export interface FanOptions {
  layout?: WeightLayout;
  fanIn?: number;
  fanOut?: number;
}

export function fans(shape: readonly number[], opts: FanOptions = {}): { fanIn: number; fanOut: number } {
  if (shape.length < 2 && (opts.fanIn === undefined || opts.fanOut === undefined)) {
    throw new EngineError('invalid_argument', `fan-in/fan-out need a weight of rank >= 2, got shape [${shape.join(', ')}]`);
  }
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  const [a, b] = [shape[0] ?? 1, shape[1] ?? 1];
  const layout = opts.layout ?? 'out-in';
  const fanIn = opts.fanIn ?? (layout === 'out-in' ? b : a) * receptive;
  const fanOut = opts.fanOut ?? (layout === 'out-in' ? a : b) * receptive;
  return { fanIn, fanOut };
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function generated(description: string, sample: (rng: Rng, shape: readonly number[]) => () => number): Initializer {
  return {
    description,
    fill(shape, rng) {
      const draw = sample(rng, shape);
      const out = new Float64Array(count(shape));
      for (let i = 0; i < out.length; i++) out[i] = draw();
      return out;
    },
  };
}

export function constant(value: number): Initializer {
  return generated(`constant(${value})`, () => () => value);
}
export const zeros = (): Initializer => constant(0);
export const ones = (): Initializer => constant(1);

export function uniform(low: number, high: number): Initializer {
  return generated(`uniform(${low}, ${high})`, (rng) => () => low + (high - low) * rng.next());
}

export function normal(std: number, mean = 0): Initializer {
  return generated(`normal(mean=${mean}, std=${std})`, (rng) => () => mean + std * rng.normal());
}

/** Normal(mean, std) resampled until inside [mean + a·std, mean + b·std] (default ±2 std, as timm/ViT). */
export function truncatedNormal(std: number, opts: { mean?: number; a?: number; b?: number } = {}): Initializer {
  const { mean = 0, a = -2, b = 2 } = opts;
  if (!(a < b)) throw new EngineError('invalid_argument', `truncatedNormal needs a < b, got a=${a}, b=${b}`);
  return generated(`truncatedNormal(mean=${mean}, std=${std}, [${a}, ${b}]σ)`, (rng) => () => {
    for (;;) {
      const z = rng.normal();
      if (z >= a && z <= b) return mean + std * z;
    }
  });
}

/** He et al. 2015: std = gain / sqrt(fan). gain defaults to sqrt(2) (ReLU). */
export function kaimingNormal(opts: FanOptions & { mode?: 'fanIn' | 'fanOut'; gain?: number } = {}): Initializer {
  const gain = opts.gain ?? Math.SQRT2;
  return {
    description: `kaimingNormal(${opts.mode ?? 'fanIn'}, gain=${gain.toFixed(3)})`,
    fill(shape, rng) {
      const f = fans(shape, opts);
      return normal(gain / Math.sqrt(opts.mode === 'fanOut' ? f.fanOut : f.fanIn)).fill(shape, rng);
    },
  };
}

/** He uniform: bound = gain·sqrt(3 / fan). */
export function kaimingUniform(opts: FanOptions & { mode?: 'fanIn' | 'fanOut'; gain?: number } = {}): Initializer {
  const gain = opts.gain ?? Math.SQRT2;
  return {
    description: `kaimingUniform(${opts.mode ?? 'fanIn'}, gain=${gain.toFixed(3)})`,
    fill(shape, rng) {
      const f = fans(shape, opts);
      const bound = gain * Math.sqrt(3 / (opts.mode === 'fanOut' ? f.fanOut : f.fanIn));
      return uniform(-bound, bound).fill(shape, rng);
    },
  };
}

/** Glorot & Bengio 2010: bound = gain·sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(opts: FanOptions & { gain?: number } = {}): Initializer {
  const gain = opts.gain ?? 1;
  return {
    description: `xavierUniform(gain=${gain})`,
    fill(shape, rng) {
      const f = fans(shape, opts);
      const bound = gain * Math.sqrt(6 / (f.fanIn + f.fanOut));
      return uniform(-bound, bound).fill(shape, rng);
    },
  };
}

/** Glorot normal: std = gain·sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal(opts: FanOptions & { gain?: number } = {}): Initializer {
  const gain = opts.gain ?? 1;
  return {
    description: `xavierNormal(gain=${gain})`,
    fill(shape, rng) {
      const f = fans(shape, opts);
      return normal(gain * Math.sqrt(2 / (f.fanIn + f.fanOut))).fill(shape, rng);
    },
  };
}

/** Fixed values (e.g. loaded from a checkpoint or a test). */
export function fromValues(values: ArrayLike<number>): Initializer {
  return {
    description: `fromValues(${values.length})`,
    fill(shape) {
      if (values.length !== count(shape)) {
        throw new EngineError('shape_mismatch', `fromValues has ${values.length} values but the shape [${shape.join(', ')}] needs ${count(shape)}`);
      }
      return Float64Array.from(values);
    },
  };
}
