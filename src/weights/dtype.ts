/** Element types a safetensors file may hold here, with their byte sizes. */
export const DTYPE_SIZES = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 } as const;
export type Dtype = keyof typeof DTYPE_SIZES;

export function isDtype(x: unknown): x is Dtype {
  return typeof x === 'string' && Object.hasOwn(DTYPE_SIZES, x);
}

export type TypedData = Float32Array | Uint16Array | BigInt64Array | Int32Array;

/** IEEE binary16 bits -> float32 value (exact: every half is representable as a float). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE binary16 bits, rounding to nearest even (as torch's .half()). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflows to zero
    const m = mant | 0x800000; // implicit leading one
    const shift = 14 - e;
    const half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rem > midpoint || (rem === midpoint && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // Rounding may carry into the exponent, which is the correct result (up to inf).
  return sign | (half + (rem > 0x1000 || (rem === 0x1000 && (half & 1)) ? 1 : 0));
}

/** bfloat16 bits -> float32 value (the upper half of a float32). */
export function bf16ToFloat(b: number): number {
  u32[0] = b << 16;
  return f32[0]!;
}

/** Widens F16/BF16 storage to float32; F32 is returned as is. */
export function widenToFloat32(dtype: Dtype, data: TypedData): Float32Array {
  if (dtype === 'F32') return data as Float32Array;
  if (dtype === 'F16' || dtype === 'BF16') {
    const src = data as Uint16Array;
    const out = new Float32Array(src.length);
    const conv = dtype === 'F16' ? halfToFloat : bf16ToFloat;
    for (let i = 0; i < src.length; i++) out[i] = conv(src[i]!);
    return out;
  }
  throw new TypeError(`cannot widen integer dtype ${dtype} to float32`);
}

/** Narrows float32 values to F16 bits. */
export function narrowToHalf(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = floatToHalf(data[i]!);
  return out;
}
