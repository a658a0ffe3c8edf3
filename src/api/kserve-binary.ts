// Triton's binary tensor data extension of the KServe v2 protocol, which tritonclient uses by
// default: the body is a JSON inference header of `Inference-Header-Content-Length` bytes followed
// by the raw tensors (little-endian, row-major) of the inputs that carry `binary_data_size`; outputs
// asked for with `binary_data: true` come back the same way. Clients send it with any Content-Type
// (often none), so the infer routes read every body as bytes and split it here.
import type { FastifyRequest } from 'fastify';

import { ValidationError } from '../core/errors.js';

export const HEADER_LENGTH = 'inference-header-content-length';

/** The binary part of each request that had one (what followed the JSON header). */
const binaryParts = new WeakMap<FastifyRequest, Buffer>();

/** Content-type parser body: the JSON header as an object (validated by the route's schema); the rest kept aside. */
export function parseInferBody(request: FastifyRequest, body: Buffer): unknown {
  const h = request.headers[HEADER_LENGTH];
  let jsonLength = body.length;
  if (h !== undefined) {
    const n = Number(h);
    if (typeof h !== 'string' || !/^\d+$/.test(h) || n > body.length)
      throw new ValidationError(
        `${HEADER_LENGTH} must be the byte length of the JSON header (at most the body's ${body.length} bytes), got '${String(h).slice(0, 20)}'`,
      );
    jsonLength = n;
    binaryParts.set(request, body.subarray(n));
  }
  try {
    return JSON.parse(body.subarray(0, jsonLength).toString('utf8')) as unknown;
  } catch (err) {
    throw new ValidationError(`the inference request is not valid JSON: ${(err as Error).message.slice(0, 120)}`);
  }
}

/** Reads the binary tensors in input order. */
export class BinaryTensorReader {
  private offset = 0;
  constructor(private readonly bytes: Buffer | undefined) {}

  static of(request: FastifyRequest): BinaryTensorReader {
    return new BinaryTensorReader(binaryParts.get(request));
  }

  /** `size` bytes of FP32 for a tensor of `count` elements. */
  fp32(name: string, size: unknown, count: number): Float32Array {
    if (this.bytes === undefined)
      throw new ValidationError(`input '${name}' has binary_data_size but the request has no binary part (send the ${HEADER_LENGTH} header)`);
    if (typeof size !== 'number' || !Number.isInteger(size) || size !== count * 4)
      throw new ValidationError(`input '${name}': binary_data_size must be ${count * 4} (${count} FP32 values), got ${String(size)}`);
    if (this.offset + size > this.bytes.length)
      throw new ValidationError(`input '${name}': the binary part ends after ${this.bytes.length - this.offset} of its ${size} bytes`);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset, size);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const v = view.getFloat32(i * 4, true);
      if (!Number.isFinite(v)) throw new ValidationError(`input '${name}': element ${i} is not a finite number`);
      out[i] = v;
    }
    this.offset += size;
    return out;
  }

  /** Every byte must belong to an input. */
  finish(): void {
    const left = (this.bytes?.length ?? 0) - this.offset;
    if (left !== 0) throw new ValidationError(`the binary part has ${left} bytes that belong to no input`);
  }
}

/** A response with binary outputs: the JSON header, then each output's FP32 bytes (little-endian). */
export function encodeBinaryResponse(
  header: { outputs: ({ parameters?: Record<string, unknown> } & Record<string, unknown>)[] } & Record<string, unknown>,
  tensors: (Float32Array | Int32Array)[],
): { body: Buffer; headerLength: number } {
  // Little-endian, as the extension specifies (FP32 and INT32 both 4 bytes an element).
  const blobs = tensors.map((t) => {
    const b = Buffer.alloc(t.length * 4);
    if (t instanceof Int32Array) t.forEach((v, i) => b.writeInt32LE(v, i * 4));
    else t.forEach((v, i) => b.writeFloatLE(v, i * 4));
    return b;
  });
  const json = Buffer.from(
    JSON.stringify({ ...header, outputs: header.outputs.map((o, i) => ({ ...o, parameters: { ...o.parameters, binary_data_size: blobs[i]!.length } })) }),
  );
  return { body: Buffer.concat([json, ...blobs]), headerLength: json.length };
}
