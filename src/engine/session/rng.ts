// The session's random stream (dropout noise): xoshiro128** with a state that can be saved and restored, so a run
// resumed from a checkpoint draws exactly the numbers it would have drawn without the interruption.
import { EngineError } from '../errors.js';

export class SessionRng {
  private s: Uint32Array;

  constructor(seed: number) {
    // splitmix32 expands the seed so nearby seeds give unrelated streams (and never the all-zero state).
    this.s = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  nextU32(): number {
    const s = this.s;
    let s0 = s[0] as number;
    let s1 = s[1] as number;
    let s2 = s[2] as number;
    let s3 = s[3] as number;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return r;
  }

  /** Fills `out` with uniform random bytes (four per draw). */
  fillBytes(out: Uint8Array): void {
    const whole = out.byteLength >>> 2;
    // Aligned views write 4 bytes per draw; the tail (and an unaligned start) falls back to byte stores.
    if ((out.byteOffset & 3) === 0) {
      const words = new Uint32Array(out.buffer, out.byteOffset, whole);
      for (let i = 0; i < whole; i++) words[i] = this.nextU32();
    } else {
      for (let i = 0; i < whole; i++) {
        const r = this.nextU32();
        out[4 * i] = r & 0xff;
        out[4 * i + 1] = (r >>> 8) & 0xff;
        out[4 * i + 2] = (r >>> 16) & 0xff;
        out[4 * i + 3] = r >>> 24;
      }
    }
    let r = 0;
    for (let i = whole * 4; i < out.byteLength; i++) {
      if ((i & 3) === 0) r = this.nextU32();
      out[i] = (r >>> ((i & 3) * 8)) & 0xff;
    }
  }

  /** The state as a 32-hex-digit string (stored in checkpoint metadata). */
  getState(): string {
    return Array.from(this.s, (w) => w.toString(16).padStart(8, '0')).join('');
  }

  setState(state: string): void {
    if (!/^[0-9a-f]{32}$/.test(state) || /^0{32}$/.test(state)) {
      throw new EngineError('invalid_argument', `invalid RNG state ${JSON.stringify(state)}: expected 32 hex digits, not all zero`);
    }
    for (let i = 0; i < 4; i++) this.s[i] = parseInt(state.slice(8 * i, 8 * i + 8), 16);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
