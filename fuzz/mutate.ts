/**
 * Deterministic byte mutations for the fuzzer: input `index` of a run with `seed` is always the same
 * bytes, so a finding can be reproduced from its (target, seed, index) alone.
 */
import { SeededRandom } from '../src/util/random.js';

/** Values that tend to hit edge cases in length and count fields. */
const INTERESTING_32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 16383, 65500, 100000, 20000];
const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff];

/**
 * One mutated copy of a seed: 1-4 of bit flip, interesting byte, interesting 16/32-bit value (either
 * endianness), random byte run, delete, duplicate a range, truncate, or splice with another seed.
 * Positions favour the first `headBias` bytes (where headers and length fields live) half the time.
 */
export function mutate(seeds: readonly Uint8Array[], seedIndex: number, index: number, headBias = 4096): Uint8Array {
  const random = new SeededRandom((seedIndex * 0x9e3779b1) ^ (index * 0x85ebca77) ^ 0x5bd1e995);
  const rnd = (): number => random.next();
  const int = (n: number) => Math.floor(rnd() * n);
  const base = seeds[int(seeds.length)]!;
  let b: Uint8Array = Uint8Array.from(base);
  const pos = (len: number) => (len === 0 ? 0 : rnd() < 0.5 ? int(Math.min(len, headBias)) : int(len));
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const kind = int(10);
    const at = pos(b.length);
    if (b.length === 0 && kind !== 9) continue;
    switch (kind) {
      case 0: b[at] = b[at]! ^ (1 << int(8)); break;
      case 1: b[at] = INTERESTING_8[int(INTERESTING_8.length)]!; break;
      case 2: case 3: {
        const v = INTERESTING_32[int(INTERESTING_32.length)]! + (int(3) - 1);
        const width = kind === 2 ? 2 : 4;
        const big = rnd() < 0.5;
        for (let k = 0; k < width && at + k < b.length; k++) {
          const shift = 8 * (big ? width - 1 - k : k);
          b[at + k] = (v >>> shift) & 0xff;
        }
        break;
      }
      case 4: { const n = 1 + int(16); for (let k = 0; k < n && at + k < b.length; k++) b[at + k] = int(256); break; }
      case 5: { const n = 1 + int(Math.min(64, b.length - at)); b = concat(b.subarray(0, at), b.subarray(at + n)); break; }
      case 6: {
        const from = pos(b.length);
        const n = 1 + int(Math.min(256, b.length - from));
        b = concat(b.subarray(0, at), b.subarray(from, from + n), b.subarray(at));
        break;
      }
      case 7: b = b.slice(0, at); break;
      case 8: {
        const other = seeds[int(seeds.length)]!;
        const from = int(other.length);
        b = concat(b.subarray(0, at), other.subarray(from));
        break;
      }
      default: b = concat(b, Uint8Array.from({ length: 1 + int(32) }, () => int(256))); break;
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
