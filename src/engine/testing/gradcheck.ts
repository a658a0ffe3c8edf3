/**
 * Finite-difference check of the gradients autodiff builds. For a graph f(inputs) → outputs yᵢ and random
 * cotangents cᵢ, the scalar L = Σᵢ ⟨cᵢ, yᵢ⟩ has ∂L/∂x = the vector-Jacobian products the backward graph
 * computes. Each checked element of x is compared with the central difference
 * (L(x + ε·eₖ) − L(x − ε·eₖ)) / 2ε, evaluated in float64 on the host from forward-only runs.
 */
import { gradients } from '../autodiff/gradients.js';
import { type DType, Graph, type Mode, type TensorRef } from '../graph.js';
import { createRng, type Rng } from '../init.js';
import { allocData, isFloat, makeData, type TensorData } from '../onnx/dtype.js';
import { type HostTensor, OrtRunner } from './ort.js';

export interface InputSpec {
  shape: number[];
  /** Default: the check's dtype. */
  dtype?: DType;
  /** Fixed values (required for int inputs such as labels). */
  values?: ArrayLike<number>;
  /** Differentiate with respect to this input (default: true for float inputs without fixed values). */
  wrt?: boolean;
  /** Random values uniform in [low, high] (default [-1, 1]). */
  low?: number;
  high?: number;
  /** Keep |x| >= margin, away from kinks such as Relu's or Abs's at 0. */
  margin?: number;
}

export interface GradCheckSpec {
  /** Float dtype of the graph (default float64). */
  dtype?: 'float32' | 'float64';
  inputs: Record<string, InputSpec>;
  /** Fixed values of inputs the build declares itself (e.g. the noise a session feeds fedDropout / fedDropPath). */
  feeds?: Record<string, HostTensor>;
  /** Builds the function; returns its output(s). `dtype` is the check's float dtype. */
  build: (g: Graph, x: Record<string, TensorRef>, dtype: 'float32' | 'float64') => TensorRef | TensorRef[];
  /** Central-difference step (default 1e-6 for float64, 1e-2 for float32). */
  eps?: number;
  /** At most this many elements per input are perturbed (a random subset beyond it; default 48). */
  maxElements?: number;
  seed?: number;
  mode?: Mode;
  opset?: number;
}

export interface InputReport {
  name: string;
  checked: number;
  maxAbsError: number;
  /** ‖analytic − numeric‖∞ / max(‖numeric‖∞, 1e-6) over the checked elements. */
  relError: number;
}

export interface GradCheckReport {
  inputs: InputReport[];
  /** Largest relError over all inputs. */
  worst: number;
  /** Nodes in the backward part of the graph (to watch lean-ness). */
  backwardNodes: number;
}

function randomValues(spec: InputSpec, n: number, rng: Rng): number[] {
  const { low = -1, high = 1, margin = 0 } = spec;
  return Array.from({ length: n }, () => {
    for (;;) {
      const v = low + (high - low) * rng.next();
      if (Math.abs(v) >= margin) return v;
    }
  });
}

export async function checkGradients(spec: GradCheckSpec): Promise<GradCheckReport> {
  const dtype = spec.dtype ?? 'float64';
  const eps = spec.eps ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const rng = createRng(spec.seed ?? 1);
  const g = new Graph('gradcheck', { mode: spec.mode ?? 'train', opset: spec.opset });
  const refs: Record<string, TensorRef> = {};
  const feeds: Record<string, HostTensor> = {};
  const wrt: TensorRef[] = [];
  for (const [name, s] of Object.entries(spec.inputs)) {
    const dt = s.dtype ?? dtype;
    refs[name] = g.input(name, dt, s.shape);
    const n = s.shape.reduce((a, b) => a * b, 1);
    feeds[name] = { dtype: dt, dims: s.shape, data: makeData(dt, s.values ?? randomValues(s, n, rng), n) };
    if (s.wrt ?? (isFloat(dt) && !s.values)) wrt.push(refs[name]);
  }
  const built = spec.build(g, refs, dtype);
  Object.assign(feeds, spec.feeds);
  const ys = (Array.isArray(built) ? built : [built]).filter((y) => isFloat(y.dtype));
  ys.forEach((y) => g.output(y));
  const forward = g.toModelProto();
  const cts = ys.map((y, i) => {
    const dims = y.shape.map((d) => {
      if (typeof d !== 'number') throw new Error(`gradcheck needs static output shapes, got ${y.name} [${y.shape.join(', ')}]`);
      return d;
    });
    const n = dims.reduce((a, b) => a * b, 1);
    const name = `ct${i}`;
    feeds[name] = { dtype: y.dtype, dims, data: makeData(y.dtype, randomValues({ shape: dims }, n, rng)) };
    return g.input(name, y.dtype, dims);
  });
  // One output: its cotangent is the seed. Several: L = Σ ReduceSum(cᵢ·yᵢ), seeded with 1.
  const nodesBefore = g.nodes().length;
  let grads: Map<string, TensorRef>;
  if (ys.length === 1) grads = gradients(g, ys[0] as TensorRef, wrt, { seed: cts[0] });
  else {
    const terms = ys.map((y, i) => g.op('ReduceSum', [g.op('Mul', [y, cts[i] as TensorRef])], { keepdims: 0 }));
    grads = gradients(g, terms.length === 1 ? (terms[0] as TensorRef) : g.op('Sum', terms), wrt);
  }
  const backwardNodes = g.nodes().length - nodesBefore;
  const gradOutputs = wrt.map((w) => g.output(grads.get(w.name) as TensorRef, `grad.${w.name}`));
  const full = g.toModelProto({ outputs: gradOutputs });

  const fwd = await OrtRunner.create(forward);
  const bwd = await OrtRunner.create(full);
  try {
    const analytic = await bwd.run(feeds);
    const objective = async (f: Record<string, HostTensor>): Promise<number> => {
      const out = await fwd.run(Object.fromEntries(fwd.inputNames.map((k) => [k, f[k] as HostTensor])));
      let total = 0;
      ys.forEach((y, i) => {
        const yv = out[y.name]?.data as ArrayLike<number>;
        const cv = feeds[`ct${i}`]?.data as ArrayLike<number>;
        for (let k = 0; k < cv.length; k++) total += (yv[k] as number) * (cv[k] as number);
      });
      return total;
    };
    const reports: InputReport[] = [];
    for (const w of wrt) {
      const base = feeds[w.name] as HostTensor;
      const a = analytic[`grad.${w.name}`]?.data as ArrayLike<number>;
      const n = base.data.length;
      const limit = spec.maxElements ?? 48;
      const indices = n <= limit ? [...Array(n).keys()] : Array.from({ length: limit }, () => Math.floor(rng.next() * n));
      let maxAbs = 0;
      let maxNum = 0;
      for (const k of indices) {
        const perturbed = (delta: number): Record<string, HostTensor> => {
          const data = allocData(base.dtype, n) as Float32Array | Float64Array;
          data.set(base.data as Float64Array);
          data[k] = (data[k] as number) + delta;
          return { ...feeds, [w.name]: { ...base, data: data as TensorData } };
        };
        // The step actually taken in float32 differs from eps by rounding; divide by it.
        const up = perturbed(eps);
        const down = perturbed(-eps);
        const h = ((up[w.name]?.data[k] as number) - (down[w.name]?.data[k] as number)) / 2;
        const numeric = ((await objective(up)) - (await objective(down))) / (2 * h);
        maxAbs = Math.max(maxAbs, Math.abs((a[k] as number) - numeric));
        maxNum = Math.max(maxNum, Math.abs(numeric));
      }
      reports.push({ name: w.name, checked: indices.length, maxAbsError: maxAbs, relError: maxAbs / Math.max(maxNum, 1e-6) });
    }
    return { inputs: reports, worst: Math.max(0, ...reports.map((r) => r.relError)), backwardNodes };
  } finally {
    await fwd.release();
    await bwd.release();
  }
}

/** Runs checkGradients and throws a readable report when any input's relative error exceeds `tol`. */
export async function assertGradients(spec: GradCheckSpec, tol: number, label?: string): Promise<GradCheckReport> {
  const report = await checkGradients(spec);
  // ENGINE_GRADCHECK_REPORT=1 prints one JSON line per check (how docs/engine.md's error table is made).
  if (process.env.ENGINE_GRADCHECK_REPORT) {
    console.log(JSON.stringify({ label, dtype: spec.dtype ?? 'float64', tol, worst: report.worst, backwardNodes: report.backwardNodes }));
  }
  if (!(report.worst <= tol)) {
    const lines = report.inputs.map((r) => `  ${r.name}: rel ${r.relError.toExponential(2)}, abs ${r.maxAbsError.toExponential(2)} (${r.checked} elements)`);
    throw new Error(`gradient check failed (tolerance ${tol}):\n${lines.join('\n')}`);
  }
  return report;
}
