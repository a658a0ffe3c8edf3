// Linear 8-bit quantization of a float weight matrix W [K, N] (a MatMul's right operand):
//   q = clamp(round(w / scale) + zeroPoint, qmin, qmax)        w ≈ (q − zeroPoint) · scale
// int8 is symmetric (zero point 0, range ±qmax, so 0.0 stays exact and the integer kernel needs no
// zero-point correction for B); uint8 is asymmetric over [min(w, 0), max(w, 0)]. Per-channel means one
// scale (and zero point) per output column n — the axis MatMulInteger / DequantizeLinear(axis=1) accept.
// `reduceRange` uses 7 bits: x86 CPUs without VNNI multiply u8×s8 pairs with VPMADDUBSW, whose int16
// pair sums can saturate with full-range weights (onnxruntime's quantizer offers the same switch).
// Rounding is half-to-even, as numpy's and ONNX Runtime's QuantizeLinear.
import { EngineError } from '../errors.js';

export type WeightType = 'int8' | 'uint8';

export interface WeightQuantization {
  type: WeightType;
  perChannel: boolean;
  reduceRange: boolean;
}

export interface QuantizedWeight {
  /** Row-major [K, N], the same layout as the float weight. */
  values: Int8Array | Uint8Array;
  /** One scale (per tensor) or N (per column). */
  scale: Float32Array;
  /** Same length and element type as the values' dtype. */
  zeroPoint: Int8Array | Uint8Array;
}

export function quantRange(type: WeightType, reduceRange: boolean): [number, number] {
  if (type === 'int8') return reduceRange ? [-64, 64] : [-127, 127];
  return reduceRange ? [0, 127] : [0, 255];
}

export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; move exact ties that landed on an odd number back to the even one.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Scale and zero point for values spanning [lo, hi] (lo ≤ 0 ≤ hi after widening to include 0). */
function params(lo: number, hi: number, type: WeightType, qmin: number, qmax: number): { scale: number; zeroPoint: number } {
  if (type === 'int8') {
    const absMax = Math.max(Math.abs(lo), Math.abs(hi));
    return { scale: absMax === 0 ? 1 : absMax / qmax, zeroPoint: 0 };
  }
  const [a, b] = [Math.min(lo, 0), Math.max(hi, 0)];
  if (a === b) return { scale: 1, zeroPoint: 0 };
  const scale = (b - a) / (qmax - qmin);
  return { scale, zeroPoint: Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - a / scale))) };
}

export function quantizeWeight(w: Float32Array, rows: number, cols: number, o: WeightQuantization): QuantizedWeight {
  if (w.length !== rows * cols) throw new EngineError('shape_mismatch', `weight has ${w.length} values, expected ${rows}×${cols}`);
  if (!w.every(Number.isFinite)) throw new EngineError('invalid_argument', 'weight contains NaN or infinite values and cannot be quantized');
  const [qmin, qmax] = quantRange(o.type, o.reduceRange);
  const groups = o.perChannel ? cols : 1;
  const lo = new Float64Array(groups).fill(Infinity);
  const hi = new Float64Array(groups).fill(-Infinity);
  for (let k = 0; k < rows; k++) {
    for (let n = 0; n < cols; n++) {
      const g = o.perChannel ? n : 0;
      const v = w[k * cols + n]!;
      if (v < lo[g]!) lo[g] = v;
      if (v > hi[g]!) hi[g] = v;
    }
  }
  const scale = new Float32Array(groups);
  const zeroPoint = o.type === 'int8' ? new Int8Array(groups) : new Uint8Array(groups);
  for (let g = 0; g < groups; g++) {
    const p = params(lo[g]!, hi[g]!, o.type, qmin, qmax);
    scale[g] = p.scale;
    zeroPoint[g] = p.zeroPoint;
  }
  const values = o.type === 'int8' ? new Int8Array(w.length) : new Uint8Array(w.length);
  for (let k = 0; k < rows; k++) {
    for (let n = 0; n < cols; n++) {
      const g = o.perChannel ? n : 0;
      // Divide by the float32 scale the model will store, so dequantization reproduces this rounding.
      const q = roundHalfEven(w[k * cols + n]! / scale[g]!) + zeroPoint[g]!;
      values[k * cols + n] = Math.min(qmax, Math.max(qmin, q));
    }
  }
  return { values, scale, zeroPoint };
}

/** (q − zeroPoint) · scale, back to float32 (tests and error bounds). */
export function dequantizeWeight(q: QuantizedWeight, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const perChannel = q.scale.length > 1;
  for (let k = 0; k < rows; k++) {
    for (let n = 0; n < cols; n++) {
      const g = perChannel ? n : 0;
      out[k * cols + n] = (q.values[k * cols + n]! - q.zeroPoint[g]!) * q.scale[g]!;
    }
  }
  return out;
}
