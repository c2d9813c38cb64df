/**
 * The elementwise parts of a transformer block as single passes over Float32Array views of the wasm
 * heap (the fused kernels of kernels.ts): LayerNorm, GELU and softmax. Sums and statistics are kept
 * in float64 (JS numbers), at least as exact as torch's float32 reductions.
 *
 * erf and exp are read off cubic Hermite tables (value and derivative at each knot, computed once in
 * float64) instead of Math.exp: a table step is ~4x cheaper in V8 and, with knots 1/64 apart, the
 * interpolation error (h^4/384 max|f''''|) is below 1e-9, far under float32's own rounding.
 *
 * This is the path where WebAssembly SIMD is missing; simdElementwise.ts is the same set of kernels
 * as f32x4 code. Both implement HeapElementwise, over byte offsets into the wasm heap.
 */
import { erf64 } from './erf64.js';

/** The elementwise kernels over a wasm heap; every pointer is a byte offset into it (a tensor's memoryOffset). */
export interface HeapElementwise {
  readonly kind: 'simd' | 'js';
  /** dst[i] = GELU(src[i]) (exact erf), i < n; dst may be src. */
  gelu(src: number, dst: number, n: number): void;
  /** dst[i] = erf(src[i]), i < n (for the accuracy tests). */
  erf(src: number, dst: number, n: number): void;
  /** dst[i] = exp(src[i]) for src[i] <= 0, i < n (for the accuracy tests). */
  exp(src: number, dst: number, n: number): void;
  /** Per row of `width` floats at ptr, in place: exp(x - row max); inv (float64 per row, 8-byte aligned) = 1 / row sum. */
  expRows(ptr: number, rows: number, width: number, inv: number): void;
  /** Softmax of each row of `width` floats at ptr, in place. */
  softmaxRows(ptr: number, rows: number, width: number): void;
  /** x[r * stride + i] *= inv[r] for i < width (x at ptr, inv float64 per row). */
  scaleRows(ptr: number, rows: number, width: number, stride: number, inv: number): void;
  /** nn.LayerNorm over rows of `width`: x, out, weight, bias as pointers. */
  layerNorm(x: number, out: number, weight: number, bias: number, rows: number, width: number, eps: number): void;
}

const ERF_STEPS_PER_UNIT = 64;
/** erf(z) for z >= ERF_END is 1 to within 1.6e-8 (float32's 1 - eps/2 is 0.99999997). */
const ERF_END = 6;
const EXP_STEPS_PER_UNIT = 64;
/** exp(x) for x <= -EXP_SPAN is < 2e-11: it is taken as 0 in a softmax (whose largest term is 1). */
const EXP_SPAN = 25;

/** Knot values and derivatives interleaved: [f(0), f'(0), f(h), f'(h), ...]. */
function hermiteTable(steps: number, h: number, f: (x: number) => number, df: (x: number) => number): Float64Array {
  const t = new Float64Array(2 * (steps + 2));
  for (let i = 0; i <= steps + 1; i++) {
    t[2 * i] = f(i * h);
    t[2 * i + 1] = df(i * h) * h; // derivative scaled to the unit interval
  }
  return t;
}

const ERF_TABLE = hermiteTable(ERF_END * ERF_STEPS_PER_UNIT, 1 / ERF_STEPS_PER_UNIT, erf64, (z) => (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z));
/** exp(-u) for u in [0, EXP_SPAN]. */
const EXP_TABLE = hermiteTable(EXP_SPAN * EXP_STEPS_PER_UNIT, 1 / EXP_STEPS_PER_UNIT, (u) => Math.exp(-u), (u) => -Math.exp(-u));

/** Cubic Hermite interpolation of a table at position p (in steps, 0 <= p < steps). */
function hermite(t: Float64Array, p: number): number {
  const i = p | 0;
  const s = p - i;
  const j = 2 * i;
  const y0 = t[j]!;
  const d0 = t[j + 1]!;
  const y1 = t[j + 2]!;
  const d1 = t[j + 3]!;
  // h00 y0 + h10 d0 + h01 y1 + h11 d1 in Horner form over s
  const c2 = 3 * (y1 - y0) - 2 * d0 - d1;
  const c3 = 2 * (y0 - y1) + d0 + d1;
  return y0 + s * (d0 + s * (c2 + s * c3));
}

/** erf(z) for z >= 0. */
function erfNonNegative(z: number): number {
  return z >= ERF_END ? 1 : hermite(ERF_TABLE, z * ERF_STEPS_PER_UNIT);
}

/** exp(x) for x <= 0. */
function expNonPositive(x: number): number {
  const u = -x;
  return u >= EXP_SPAN ? 0 : hermite(EXP_TABLE, u * EXP_STEPS_PER_UNIT);
}

/** nn.LayerNorm over rows of `width`: (x - mean) / sqrt(biased var + eps) * weight + bias. */
export function layerNormRows(x: Float32Array, out: Float32Array, weight: Float32Array, bias: Float32Array, width: number, eps: number): void {
  const rows = x.length / width;
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    let sum = 0;
    for (let i = 0; i < width; i++) sum += x[base + i]!;
    const mean = sum / width;
    let squares = 0;
    for (let i = 0; i < width; i++) {
      const c = x[base + i]! - mean;
      squares += c * c;
    }
    const rstd = 1 / Math.sqrt(squares / width + eps);
    for (let i = 0; i < width; i++) out[base + i] = (x[base + i]! - mean) * rstd * weight[i]! + bias[i]!;
  }
}

/** Exact-erf GELU x * 0.5 * (1 + erf(x / sqrt(2))) in place (torch nn.GELU(), HF "gelu"). */
export function geluInPlace(x: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const e = erfNonNegative(Math.abs(v) * Math.SQRT1_2);
    x[i] = 0.5 * v * (1 + (v < 0 ? -e : e));
  }
}

/** Softmax of every row of `width` in place (max subtracted first, as torch does). */
export function softmaxRows(x: Float32Array, width: number): void {
  const inverses = expRows(x, width);
  for (let r = 0; r < inverses.length; r++) scaleRow(x, r * width, width, inverses[r]!);
}

/**
 * The unnormalised half of a softmax: exp(x - row max) in place; returns 1 / (row sum) per row, for
 * the caller to apply where it is cheapest (attention scales the 64-wide context rows, not the
 * 197-wide probability rows).
 */
export function expRows(x: Float32Array, width: number, inverses: Float64Array<ArrayBufferLike> = new Float64Array(x.length / width)): Float64Array<ArrayBufferLike> {
  const rows = x.length / width;
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    let max = -Infinity;
    for (let i = 0; i < width; i++) if (x[base + i]! > max) max = x[base + i]!;
    let sum = 0;
    for (let i = 0; i < width; i++) {
      const e = expNonPositive(x[base + i]! - max);
      x[base + i] = e;
      sum += e;
    }
    inverses[r] = 1 / sum;
  }
  return inverses;
}

/** x[base .. base + width) *= factor. */
export function scaleRow(x: Float32Array, base: number, width: number, factor: number): void {
  for (let i = 0; i < width; i++) x[base + i]! *= factor;
}

/** The JS kernels over `memory`'s buffer (views are taken per call: the heap may have grown). */
export function jsElementwise(memory: { buffer: ArrayBufferLike }): HeapElementwise {
  const f32 = (ptr: number, n: number) => new Float32Array(memory.buffer, ptr, n);
  const f64 = (ptr: number, n: number) => new Float64Array(memory.buffer, ptr, n);
  const map = (src: number, dst: number, n: number, f: (v: number) => number): void => {
    const a = f32(src, n);
    const b = f32(dst, n);
    for (let i = 0; i < n; i++) b[i] = f(a[i]!);
  };
  return {
    kind: 'js',
    gelu: (src, dst, n) => {
      const y = f32(dst, n);
      if (src !== dst) y.set(f32(src, n));
      geluInPlace(y);
    },
    erf: (src, dst, n) => map(src, dst, n, tabulated.erf),
    exp: (src, dst, n) => map(src, dst, n, expNonPositive),
    expRows: (ptr, rows, width, inv) => { expRows(f32(ptr, rows * width), width, f64(inv, rows)); },
    softmaxRows: (ptr, rows, width) => softmaxRows(f32(ptr, rows * width), width),
    scaleRows: (ptr, rows, width, stride, inv) => {
      const x = f32(ptr, rows === 0 ? 0 : (rows - 1) * stride + width);
      const factors = f64(inv, rows);
      for (let r = 0; r < rows; r++) scaleRow(x, r * stride, width, factors[r]!);
    },
    layerNorm: (x, out, weight, bias, rows, width, eps) =>
      layerNormRows(f32(x, rows * width), f32(out, rows * width), f32(weight, width), f32(bias, width), width, eps),
  };
}

/** For tests: the tabulated erf and exp against which Math-based references are compared. */
export const tabulated = { erf: (z: number) => (z < 0 ? -erfNonNegative(-z) : erfNonNegative(z)), exp: expNonPositive, erf64 };
