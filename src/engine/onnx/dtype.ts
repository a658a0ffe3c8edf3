// Element types: the mapping between the engine's dtype names, ONNX TensorProto.DataType codes and the
// JavaScript typed arrays that hold their values.
import { EngineError } from '../errors.js';

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint8';

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** ONNX TensorProto.DataType codes (onnx.proto). */
export const ONNX_DTYPE: Record<DType, number> = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float64: 11 };

const FROM_ONNX = new Map<number, DType>(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]));

export function dtypeFromOnnx(code: number): DType {
  const d = FROM_ONNX.get(code);
  if (!d) throw new EngineError('unsupported_op', `ONNX element type ${code} is not supported by the engine`);
  return d;
}

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

export function bytesPerElement(d: DType): number {
  return d === 'float64' || d === 'int64' ? 8 : d === 'float32' || d === 'int32' ? 4 : 1;
}

/** A typed array of `dtype` holding `values` (numbers, or bigints for int64). */
export function makeData(dtype: DType, values: ArrayLike<number> | ArrayLike<bigint>, n = values.length): TensorData {
  const out = allocData(dtype, n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number | bigint;
    if (out instanceof BigInt64Array) out[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
    else out[i] = Number(v);
  }
  return out;
}

export function allocData(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'bool':
    case 'uint8':
      return new Uint8Array(n);
  }
}

/** Little-endian raw bytes of a typed array (the layout TensorProto.raw_data expects). */
export function toRawBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function fromRawBytes(dtype: DType, bytes: Uint8Array): TensorData {
  // Copy so the result is aligned and owns its memory.
  const copy = new Uint8Array(bytes);
  const n = copy.byteLength / bytesPerElement(dtype);
  switch (dtype) {
    case 'float32':
      return new Float32Array(copy.buffer, 0, n);
    case 'float64':
      return new Float64Array(copy.buffer, 0, n);
    case 'int64':
      return new BigInt64Array(copy.buffer, 0, n);
    case 'int32':
      return new Int32Array(copy.buffer, 0, n);
    default:
      return copy;
  }
}
