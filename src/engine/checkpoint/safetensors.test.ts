import { describe, expect, it } from 'vitest';

import { decodeSafetensors, encodeSafetensors, type StoredTensor } from './safetensors.js';

function sample(): Map<string, StoredTensor> {
  return new Map<string, StoredTensor>([
    ['w', { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, -6.5]) }],
    ['b', { dtype: 'float64', shape: [1], data: new Float64Array([Math.PI]) }],
    ['step', { dtype: 'int64', shape: [], data: new BigInt64Array([123n]) }],
    ['mask', { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) }],
    ['i', { dtype: 'int32', shape: [2], data: new Int32Array([-7, 9]) }],
  ]);
}

describe('safetensors', () => {
  it('round-trips tensors and metadata bit for bit', () => {
    const buf = encodeSafetensors(sample(), { step: '7', note: 'ü' });
    const back = decodeSafetensors(buf);
    expect(back.metadata).toEqual({ step: '7', note: 'ü' });
    for (const [name, t] of sample()) {
      const got = back.tensors.get(name)!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
  });

  it('writes the documented layout: LE u64 header length, space-padded JSON, then raw LE data', () => {
    const buf = encodeSafetensors(new Map([['x', { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }]]));
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
    expect(header).toEqual({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(buf.readFloatLE(8 + n)).toBe(1);
    expect(buf.readFloatLE(8 + n + 4)).toBe(2);
    expect(buf.length).toBe(8 + n + 8);
  });

  it('decodes from a misaligned view', () => {
    const buf = encodeSafetensors(sample());
    const shifted = new Uint8Array(buf.length + 1);
    shifted.set(buf, 1);
    const back = decodeSafetensors(shifted.subarray(1));
    expect(Array.from(back.tensors.get('w')!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, -6.5]);
  });

  it('rejects corrupt files with a typed error', () => {
    expect(() => decodeSafetensors(new Uint8Array(3))).toThrow(/not a valid safetensors/);
    const buf = encodeSafetensors(sample());
    expect(() => decodeSafetensors(buf.subarray(0, buf.length - 4))).toThrow(/outside the file/);
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1n << 40n, 0);
    expect(() => decodeSafetensors(huge)).toThrow(/exceeds/);
    const notJson = Buffer.concat([Buffer.alloc(8), Buffer.from('{nope')]);
    notJson.writeBigUInt64LE(5n, 0);
    expect(() => decodeSafetensors(notJson)).toThrow(/JSON/);
  });

  it('refuses tensors whose data does not match their shape', () => {
    const bad = new Map([['x', { dtype: 'float32' as const, shape: [3], data: new Float32Array(2) }]]);
    expect(() => encodeSafetensors(bad)).toThrow(/2 values for shape \[3\]/);
  });
});
