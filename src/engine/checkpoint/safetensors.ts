// The safetensors container, written and read by hand (no dependency):
//   8 bytes  little-endian u64 N = header length
//   N bytes  UTF-8 JSON: { "<tensor name>": { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {str: str} }
//   rest     raw little-endian tensor bytes; offsets are relative to the end of the header.
// The header is padded with spaces to a multiple of 8 bytes so every tensor starts 8-byte aligned in the file,
// which is what the reference implementation does and what lets readers view the data without copying.
import { EngineError } from '../errors.js';

export type SafetensorsDType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';
export type TensorArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** One tensor as stored: a flat typed array in row-major order plus its shape. */
export interface StoredTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: TensorArray;
}

export interface SafetensorsContent {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
}

const CODE_OF: Record<SafetensorsDType, string> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};
const DTYPE_OF: Record<string, SafetensorsDType> = Object.fromEntries(Object.entries(CODE_OF).map(([k, v]) => [v, k as SafetensorsDType]));
const BYTES: Record<SafetensorsDType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

/** Safety limit: a header larger than this is a corrupt or hostile file, not a checkpoint. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function assertLittleEndian(): void {
  // Typed arrays use the host byte order; safetensors is little-endian. Every platform Node ships on today is LE,
  // so rather than byte-swapping we refuse loudly if that ever stops being true.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new EngineError('invalid_argument', 'safetensors I/O needs a little-endian host');
  }
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkTensor(name: string, t: StoredTensor): void {
  if (!(t.dtype in CODE_OF)) throw new EngineError('invalid_argument', `tensor "${name}": unsupported dtype ${String(t.dtype)}`);
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 0) throw new EngineError('invalid_argument', `tensor "${name}": bad shape [${t.shape.join(', ')}]`);
  }
  if (t.data.length !== elementCount(t.shape)) {
    throw new EngineError(
      'invalid_argument',
      `tensor "${name}": ${t.data.length} values for shape [${t.shape.join(', ')}] (${elementCount(t.shape)} expected)`,
    );
  }
  if (t.data.BYTES_PER_ELEMENT !== BYTES[t.dtype]) {
    throw new EngineError('invalid_argument', `tensor "${name}": data array does not match dtype ${t.dtype}`);
  }
}

/** Serializes tensors (in the map's order) and string metadata into one safetensors buffer. */
export function encodeSafetensors(tensors: Map<string, StoredTensor>, metadata: Record<string, string> = {}): Buffer {
  assertLittleEndian();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new EngineError('invalid_argument', `metadata "${k}" must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new EngineError('invalid_argument', '"__metadata__" is reserved and cannot name a tensor');
    checkTensor(name, t);
    const end = offset + t.data.byteLength;
    header[name] = { dtype: CODE_OF[t.dtype], shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);

  const out = Buffer.allocUnsafe(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

function arrayFor(dtype: SafetensorsDType, bytes: Uint8Array): TensorArray {
  // Copy into a fresh, aligned buffer: the caller owns the result and the source may be misaligned.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  switch (dtype) {
    case 'float32':
      return new Float32Array(copy.buffer);
    case 'float64':
      return new Float64Array(copy.buffer);
    case 'int64':
      return new BigInt64Array(copy.buffer);
    case 'int32':
      return new Int32Array(copy.buffer);
    case 'uint8':
    case 'bool':
      return copy;
  }
}

function invalid(message: string): EngineError {
  return new EngineError('invalid_argument', `not a valid safetensors file: ${message}`);
}

/** Parses a safetensors buffer; every structural problem is an EngineError('invalid_argument'). */
export function decodeSafetensors(buf: Uint8Array): SafetensorsContent {
  assertLittleEndian();
  if (buf.byteLength < 8) throw invalid('shorter than its 8-byte header length');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(MAX_HEADER_BYTES, buf.byteLength - 8))) throw invalid(`header length ${headerLen} exceeds the file`);
  const n = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString('utf8'));
  } catch {
    throw invalid('header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw invalid('header is not a JSON object');

  const dataStart = 8 + n;
  const dataLen = buf.byteLength - dataStart;
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw invalid('__metadata__ must map strings to strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof e.dtype === 'string' ? DTYPE_OF[e.dtype] : undefined;
    if (!dtype) throw invalid(`tensor "${name}" has unsupported dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) throw invalid(`tensor "${name}" has a bad shape`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      throw invalid(`tensor "${name}" has bad data_offsets`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin || end > dataLen) throw invalid(`tensor "${name}" data [${begin}, ${end}) lies outside the file`);
    if (end - begin !== elementCount(shape as number[]) * BYTES[dtype]) {
      throw invalid(`tensor "${name}" byte length does not match its shape and dtype`);
    }
    tensors.set(name, {
      dtype,
      shape: shape as number[],
      data: arrayFor(dtype, new Uint8Array(buf.buffer, buf.byteOffset + dataStart + begin, end - begin)),
    });
  }
  return { tensors, metadata };
}
