/**
 * The elementwise kernels of wasm+blas (GELU, softmax / exp rows, row scaling, LayerNorm) as
 * WebAssembly SIMD (f32x4) code that runs directly on tfjs-backend-wasm's heap: our module imports
 * the backend's own WebAssembly.Memory, so every pointer is a tensor's memoryOffset and nothing is
 * copied. It is assembled here from TypeScript (src/wasm/assembler.ts); the polynomial coefficients
 * are derived when the module is built, by Chebyshev interpolation in float64 (chebyshev.ts) of the
 * float64 references (erf64.ts, Math.exp). Measured against float64 over dense grids
 * (test/blas.simd.test.ts asserts these bounds):
 * - exp(x), x in [-87.3, 0]: relative error <= 1.2e-7 (3e-7 asserted); 0 below -87.33 (where
 *   exp(x) < 1.2e-38, float32's least normal).
 * - erf(x): absolute error <= 1.5e-7 (2e-7 asserted).
 * - GELU(x): |error| <= 1.2e-7 max(1, |x|) (2e-7 asserted).
 * Sums and row statistics are float64 (f64x2 lanes), as in the JS path (elementwise.ts).
 *
 * Approximations (z >= 0):
 * - erf(z) = z P(z^2) for z < 1 (P of degree 6, fitted on t = z^2 in [0, 1]);
 * - erfc(z) = exp(-z^2) R(1/z) for z >= 1 (R of degree 8 fitted to erfcx(1/v) on v in [1/6, 1]);
 *   erfc(z) for z >= 6 is < 2.2e-17 and is taken as 0; both halves are computed and one is selected
 *   per lane (v128.bitselect): skipping a half no lane needs costs more in mispredicted branches
 *   than it saves.
 * - exp(x) = 2^k p(r), k = nearest(x log2 e), r = x - k ln2 (ln2 split in two parts, Cody-Waite,
 *   so k ln2_hi is exact), p of degree 6 on [-ln2/2, ln2/2]; k is rounded by adding 1.5 * 2^23 and
 *   2^k is built from that sum's bits in the exponent field.
 * - GELU(x) = max(x, 0) - 0.5 |x| erfc(|x| / sqrt 2), the exact-erf GELU written so that both signs
 *   keep full relative precision; GELU(+inf) = inf, GELU(-inf) = 0, NaN stays NaN.
 */
import { assembleModule, FunctionWriter, type Local } from '../wasm/assembler.js';
import { chebyshevInterpolant } from './chebyshev.js';
import { erf64, erfcx64 } from './erf64.js';
import type { HeapElementwise } from './elementwise.js';

const ERF_SPLIT = 1;
const ERFC_END = 6;
/** Below this exp(x) is returned as 0 (keeps 2^k normal: k >= -126). */
const EXP_MIN = -87.33;
const LN2_HI = Math.round(Math.LN2 * 2 ** 15) / 2 ** 15; // 15 significant bits: k * LN2_HI is exact for |k| < 2^9
const LN2_LO = Math.LN2 - LN2_HI;

/** Polynomial coefficients, lowest degree first. */
export const POLYNOMIALS = {
  /** erf(z) / z as a polynomial in t = z^2, t in [0, ERF_SPLIT^2]. */
  erfSmall: chebyshevInterpolant((t) => (t === 0 ? 2 / Math.sqrt(Math.PI) : erf64(Math.sqrt(t)) / Math.sqrt(t)), 0, ERF_SPLIT ** 2, 6),
  /** erfcx(1 / v) as a polynomial in v = 1/z, z in [ERF_SPLIT, ERFC_END]. */
  erfcxLarge: chebyshevInterpolant((v) => erfcx64(1 / v), 1 / ERFC_END, 1 / ERF_SPLIT, 8),
  /** exp(r), r in [-ln2/2, ln2/2]. */
  exp: chebyshevInterpolant(Math.exp, -Math.LN2 / 2, Math.LN2 / 2, 6),
};

type F = FunctionWriter;

function i32x4Const(f: F, n: number): F {
  return f.v128Const([...new Uint8Array(new Int32Array([n, n, n, n]).buffer)]);
}

/** Pushes p(x) for the f32x4 local x (Horner's rule). */
function horner(f: F, coefficients: readonly number[], x: Local): void {
  f.f32x4(coefficients[coefficients.length - 1]!);
  for (let i = coefficients.length - 2; i >= 0; i--) f.get(x).ins('f32x4.mul').f32x4(coefficients[i]!).ins('f32x4.add');
}

/** Scratch locals shared by the vector emitters of one function. */
interface Scratch { a: Local; b: Local; c: Local; d: Local }
function scratch(f: F): Scratch {
  return { a: f.local('v128'), b: f.local('v128'), c: f.local('v128'), d: f.local('v128') };
}

/** 1.5 * 2^23: adding it rounds a float32 of magnitude < 2^22 to an integer k kept in the low mantissa bits. */
const ROUNDER = 1.5 * 2 ** 23;

/** Pushes exp(x) for the f32x4 local x (x <= 0; uses s.a, s.b). */
function expVector(f: F, x: Local, s: Scratch): void {
  const { a: t, b: r } = s;
  // t = x log2e + ROUNDER: k = t - ROUNDER = nearest(x log2e), exactly; t's bit pattern is ROUNDER's + k
  f.get(x).f32x4(Math.LOG2E).ins('f32x4.mul').f32x4(ROUNDER).ins('f32x4.add').set(t);
  f.get(t).f32x4(ROUNDER).ins('f32x4.sub').set(r); // k
  f.get(x).get(r).f32x4(LN2_HI).ins('f32x4.mul').ins('f32x4.sub').get(r).f32x4(LN2_LO).ins('f32x4.mul').ins('f32x4.sub').set(r);
  horner(f, POLYNOMIALS.exp, r);
  // 2^k = (k + 127) << 23 as float32 bits; ROUNDER's bits have zero low 9 bits, so the shift leaves k + 127
  f.get(t);
  i32x4Const(f, 127).ins('i32x4.add').i32(23).ins('i32x4.shl');
  f.ins('f32x4.mul');
  f.get(x).f32x4(EXP_MIN).ins('f32x4.lt').ins('v128.andnot'); // x < EXP_MIN -> 0 (NaN stays NaN)
}

/**
 * For the f32x4 local z >= 0: sets `small` = erf(z) (valid for z < ERF_SPLIT) and `large` = erfc(z)
 * (valid for z >= ERF_SPLIT). Uses s.a..s.d.
 */
function erfParts(f: F, z: Local, small: Local, large: Local, s: Scratch): void {
  const { c: t, d: zc } = s;
  f.get(z).get(z).ins('f32x4.mul').set(t);
  horner(f, POLYNOMIALS.erfSmall, t);
  f.get(z).ins('f32x4.mul').set(small);
  f.get(z).f32x4(ERF_SPLIT).ins('f32x4.pmax').set(zc); // keeps 1/z and the fit's range finite
  f.f32x4(1).get(zc).ins('f32x4.div').set(t); // v = 1 / z
  horner(f, POLYNOMIALS.erfcxLarge, t);
  f.set(large);
  f.get(zc).get(zc).ins('f32x4.mul').ins('f32x4.neg').set(t);
  expVector(f, t, s);
  f.get(large).ins('f32x4.mul').set(large);
}

/** Pushes GELU(x) for the f32x4 local x. */
function geluVector(f: F, x: Local, s: Scratch, small: Local, large: Local, z: Local): void {
  f.get(x).ins('f32x4.abs').f32x4(Math.SQRT1_2).ins('f32x4.mul').set(z);
  erfParts(f, z, small, large, s);
  f.get(x).f32x4(0).ins('f32x4.pmax'); // relu(x), NaN kept
  // q = 0.5 |x| erfc(z), erfc = 1 - erf below the split; 0 from ERFC_END on (also for |x| = inf)
  f.f32x4(1).get(small).ins('f32x4.sub').get(large).get(z).f32x4(ERF_SPLIT).ins('f32x4.lt').ins('v128.bitselect');
  f.get(x).ins('f32x4.abs').f32x4(0.5).ins('f32x4.mul').ins('f32x4.mul');
  f.get(z).f32x4(ERFC_END).ins('f32x4.lt').ins('v128.and');
  f.ins('f32x4.sub');
}

/** Pushes erf(x) for the f32x4 local x (the accuracy test's view of erfParts). */
function erfVector(f: F, x: Local, s: Scratch, small: Local, large: Local, z: Local): void {
  f.get(x).ins('f32x4.abs').set(z);
  erfParts(f, z, small, large, s);
  f.get(small).f32x4(1).get(large).ins('f32x4.sub').get(z).f32x4(ERF_SPLIT).ins('f32x4.lt').ins('v128.bitselect');
  f.get(x);
  i32x4Const(f, 0x7fffffff).ins('v128.bitselect'); // copysign(result, x)
}

/**
 * An elementwise map dst[i] = op(src[i]), i < n: 4 lanes at a time, then the tail one element at a
 * time (splat-loaded, lane 0 stored), so nothing outside [src, src + n) is read or written.
 */
function mapKernel(name: string, op: (f: F, x: Local, s: Scratch, small: Local, large: Local, z: Local) => void): F {
  const f = new FunctionWriter(name, ['src', 'dst', 'n']);
  const { src, dst, n } = f.params;
  const bytes = f.local('i32'), vecEnd = f.local('i32'), off = f.local('i32');
  const x = f.local('v128'), small = f.local('v128'), large = f.local('v128'), z = f.local('v128');
  const s = scratch(f);
  f.get(n).i32(2).ins('i32.shl').set(bytes);
  f.get(bytes).i32(-16).ins('i32.and').set(vecEnd);
  f.forRange(off, vecEnd, 16, () => {
    f.get(src).get(off).add().v128Load().set(x);
    f.get(dst).get(off).add();
    op(f, x, s, small, large, z);
    f.v128Store();
  });
  f.forRange(off, bytes, 4, () => {
    f.get(src).get(off).add().v128Load32Splat().set(x);
    f.get(dst).get(off).add();
    op(f, x, s, small, large, z);
    f.v128Store32Lane(0);
  }, vecEnd);
  return f;
}

/** Lanes 2, 3 of the first operand into lanes 0, 1 (for f64x2.promote_low_f32x4 of the high half). */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** Lanes 0, 1 of each operand: two demoted f64x2 halves back into one f32x4. */
const JOIN_LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** acc (f64x2) += the four f32 lanes of the vector on the stack, promoted. */
function addPromoted(f: F, acc: Local, v: Local): void {
  f.get(v).ins('f64x2.promote_low_f32x4').get(v).get(v).shuffle(HIGH_HALF).ins('f64x2.promote_low_f32x4').ins('f64x2.add');
  f.get(acc).ins('f64x2.add').set(acc);
}

/** Pushes lane 0 + lane 1 of the f64x2 local v (an f64). */
function sumLanes(f: F, v: Local): void {
  f.get(v).f64x2ExtractLane(0).get(v).f64x2ExtractLane(1).ins('f64.add');
}

/** The per-row loop head shared by the row kernels: `bytes` = width * 4, `vecEnd` = bytes rounded down to 16. */
function rowBounds(f: F, width: Local): { bytes: Local; vecEnd: Local } {
  const bytes = f.local('i32'), vecEnd = f.local('i32');
  f.get(width).i32(2).ins('i32.shl').set(bytes);
  f.get(bytes).i32(-16).ins('i32.and').set(vecEnd);
  return { bytes, vecEnd };
}

/**
 * expRows(ptr, rows, width, inv) / softmaxRows(ptr, rows, width): per row of `width` floats, in
 * place, e = exp(x - row max) with the float64 row sum; expRows stores 1 / sum (f64) at inv + 8 r,
 * softmaxRows multiplies the row by it (as float32).
 */
function expRowsKernel(normalize: boolean): F {
  const f: F = new FunctionWriter(normalize ? 'softmaxRows' : 'expRows', normalize ? ['ptr', 'rows', 'width'] : ['ptr', 'rows', 'width', 'inv']);
  const { ptr, rows, width, inv } = f.params as Record<'ptr' | 'rows' | 'width', Local> & { inv?: Local };
  const { bytes, vecEnd } = rowBounds(f, width);
  const r = f.local('i32'), base = f.local('i32'), off = f.local('i32');
  const m = f.local('v128'), x = f.local('v128'), e = f.local('v128'), sum = f.local('v128');
  const tailSum = f.local('f64'), inverse = f.local('f64'), factor = f.local('v128');
  const s = scratch(f);
  f.forRange(r, rows, 1, () => {
    f.get(ptr).get(r).get(bytes).mul().add().set(base);
    // row max (pmax ignores a NaN operand in the second place, as the JS path's `>` does)
    f.f32x4(-Infinity).set(m);
    f.forRange(off, vecEnd, 16, () => { f.get(m).get(base).get(off).add().v128Load().ins('f32x4.pmax').set(m); });
    f.forRange(off, bytes, 4, () => { f.get(m).get(base).get(off).add().v128Load32Splat().ins('f32x4.pmax').set(m); }, vecEnd);
    f.get(m).get(m).get(m).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).ins('f32x4.pmax').set(m);
    f.get(m).get(m).get(m).shuffle([4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11]).ins('f32x4.pmax').set(m);
    // exp and float64 sum
    f.f64(0).ins('f64x2.splat').set(sum);
    f.forRange(off, vecEnd, 16, () => {
      f.get(base).get(off).add().v128Load().get(m).ins('f32x4.sub').set(x);
      expVector(f, x, s);
      f.set(e);
      f.get(base).get(off).add().get(e).v128Store();
      addPromoted(f, sum, e);
    });
    f.f64(0).set(tailSum);
    f.forRange(off, bytes, 4, () => {
      f.get(base).get(off).add().v128Load32Splat().get(m).ins('f32x4.sub').set(x);
      expVector(f, x, s);
      f.set(e);
      f.get(base).get(off).add().get(e).v128Store32Lane(0);
      f.get(tailSum).get(e).f32x4ExtractLane(0).ins('f64.promote_f32').ins('f64.add').set(tailSum);
    }, vecEnd);
    f.f64(1);
    sumLanes(f, sum);
    f.get(tailSum).ins('f64.add').ins('f64.div').set(inverse);
    if (normalize) {
      f.get(inverse).ins('f32.demote_f64').ins('f32x4.splat').set(factor);
      scaleRow(f, base, bytes, vecEnd, off, factor);
    } else {
      f.get(inv!).get(r).i32(8).mul().add().get(inverse).f64Store();
    }
  });
  return f;
}

/** [base, base + bytes) *= factor (an f32x4 local with the factor in every lane). */
function scaleRow(f: F, base: Local, bytes: Local, vecEnd: Local, off: Local, factor: Local): void {
  f.forRange(off, vecEnd, 16, () => {
    f.get(base).get(off).add().get(base).get(off).add().v128Load().get(factor).ins('f32x4.mul').v128Store();
  });
  f.forRange(off, bytes, 4, () => {
    f.get(base).get(off).add().get(base).get(off).add().f32Load().get(factor).f32x4ExtractLane(0).ins('f32.mul').f32Store();
  }, vecEnd);
}

/** scaleRows(ptr, rows, width, stride, inv): x[r stride + i] *= inv[r] (f64 at inv + 8 r, applied as float32), i < width. */
function scaleRowsKernel(): F {
  const f = new FunctionWriter('scaleRows', ['ptr', 'rows', 'width', 'stride', 'inv']);
  const { ptr, rows, width, stride, inv } = f.params;
  const { bytes, vecEnd } = rowBounds(f, width);
  const r = f.local('i32'), base = f.local('i32'), off = f.local('i32'), factor = f.local('v128');
  f.forRange(r, rows, 1, () => {
    f.get(ptr).get(r).get(stride).mul().i32(4).mul().add().set(base);
    f.get(inv).get(r).i32(8).mul().add().f64Load().ins('f32.demote_f64').ins('f32x4.splat').set(factor);
    scaleRow(f, base, bytes, vecEnd, off, factor);
  });
  return f;
}

/**
 * layerNorm(x, out, weight, bias, rows, width, eps): nn.LayerNorm over rows of `width`, mean and
 * biased variance in float64, then out = (x - mean) * rstd * weight + bias in float64 lanes rounded
 * once to float32 (elementwise.ts's formula, so both paths round the same value).
 */
function layerNormKernel(): F {
  const f = new FunctionWriter('layerNorm', ['x', 'out', 'weight', 'bias', 'rows', 'width', 'eps'], { eps: 'f64' });
  const { x, out, weight, bias, rows, width, eps } = f.params;
  const { bytes, vecEnd } = rowBounds(f, width);
  const r = f.local('i32'), base = f.local('i32'), outBase = f.local('i32'), off = f.local('i32');
  const v = f.local('v128'), acc = f.local('v128'), c = f.local('v128'), mean2 = f.local('v128'), rstd2 = f.local('v128');
  const w = f.local('v128'), b = f.local('v128'), low = f.local('v128');
  const tail = f.local('f64'), mean = f.local('f64'), rstd = f.local('f64'), ct = f.local('f64'), n = f.local('f64');
  f.get(width).ins('f64.convert_i32_u').set(n);
  /** acc += (promoted lanes of v - mean)^2, one f64x2 half at a time */
  const addSquares = (half: () => void): void => {
    f.get(v);
    half();
    f.ins('f64x2.promote_low_f32x4').get(mean2).ins('f64x2.sub').tee(c).get(c).ins('f64x2.mul').get(acc).ins('f64x2.add').set(acc);
  };
  const normalizeHalf = (half: (l: Local) => void): void => {
    // ((x - mean) * rstd) * weight + bias, as the JS path groups it
    f.get(v); half(v);
    f.ins('f64x2.promote_low_f32x4').get(mean2).ins('f64x2.sub').get(rstd2).ins('f64x2.mul');
    f.get(w); half(w);
    f.ins('f64x2.promote_low_f32x4').ins('f64x2.mul');
    f.get(b); half(b);
    f.ins('f64x2.promote_low_f32x4').ins('f64x2.add').ins('f32x4.demote_f64x2_zero');
  };
  const high = (l: Local): void => { f.get(l).shuffle(HIGH_HALF); };
  f.forRange(r, rows, 1, () => {
    f.get(x).get(r).get(bytes).mul().add().set(base);
    f.get(out).get(r).get(bytes).mul().add().set(outBase);
    // mean
    f.f64(0).ins('f64x2.splat').set(acc);
    f.forRange(off, vecEnd, 16, () => {
      f.get(base).get(off).add().v128Load().set(v);
      addPromoted(f, acc, v);
    });
    f.f64(0).set(tail);
    f.forRange(off, bytes, 4, () => { f.get(tail).get(base).get(off).add().f32Load().ins('f64.promote_f32').ins('f64.add').set(tail); }, vecEnd);
    sumLanes(f, acc);
    f.get(tail).ins('f64.add').get(n).ins('f64.div').tee(mean).ins('f64x2.splat').set(mean2);
    // biased variance
    f.f64(0).ins('f64x2.splat').set(acc);
    f.forRange(off, vecEnd, 16, () => {
      f.get(base).get(off).add().v128Load().set(v);
      addSquares(() => {});
      addSquares(() => { f.get(v).shuffle(HIGH_HALF); });
    });
    f.f64(0).set(tail);
    f.forRange(off, bytes, 4, () => {
      f.get(base).get(off).add().f32Load().ins('f64.promote_f32').get(mean).ins('f64.sub').tee(ct).get(ct).ins('f64.mul').get(tail).ins('f64.add').set(tail);
    }, vecEnd);
    f.f64(1);
    sumLanes(f, acc);
    f.get(tail).ins('f64.add').get(n).ins('f64.div').get(eps).ins('f64.add').ins('f64.sqrt').ins('f64.div').tee(rstd).ins('f64x2.splat').set(rstd2);
    // normalize
    f.forRange(off, vecEnd, 16, () => {
      f.get(base).get(off).add().v128Load().set(v);
      f.get(weight).get(off).add().v128Load().set(w);
      f.get(bias).get(off).add().v128Load().set(b);
      f.get(outBase).get(off).add();
      normalizeHalf(() => {});
      f.set(low);
      normalizeHalf(high);
      f.set(c);
      f.get(low).get(c).shuffle(JOIN_LOW_HALVES);
      f.v128Store();
    });
    f.forRange(off, bytes, 4, () => {
      f.get(outBase).get(off).add();
      f.get(base).get(off).add().f32Load().ins('f64.promote_f32').get(mean).ins('f64.sub').get(rstd).ins('f64.mul');
      f.get(weight).get(off).add().f32Load().ins('f64.promote_f32').ins('f64.mul');
      f.get(bias).get(off).add().f32Load().ins('f64.promote_f32').ins('f64.add');
      f.ins('f32.demote_f64').f32Store();
    }, vecEnd);
  });
  return f;
}

/** The kernels' module, importing a private (`shared` false) or a shared memory. */
export function elementwiseModuleBytes(shared: boolean): Uint8Array {
  return assembleModule([
    mapKernel('gelu', geluVector), mapKernel('erf', erfVector), mapKernel('exp', (f, x, s) => expVector(f, x, s)),
    expRowsKernel(false), expRowsKernel(true), scaleRowsKernel(), layerNormKernel(),
  ], { sharedMemory: shared });
}

interface WasmMemory { buffer: ArrayBufferLike }
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** The compiled module per memory kind, or null where WebAssembly SIMD is missing (it does not validate). */
const compiled = new Map<boolean, object | null>();
function compiledModule(shared: boolean): object | null {
  if (!compiled.has(shared)) {
    const bytes = elementwiseModuleBytes(shared);
    compiled.set(shared, wasmApi && wasmApi.validate(bytes) ? new wasmApi.Module(bytes) : null);
  }
  return compiled.get(shared)!;
}

/** Whether the SIMD kernels can run here (Node >= 16.4 and current browsers have WebAssembly SIMD). */
export function simdElementwiseAvailable(): boolean {
  return compiledModule(false) !== null;
}

type Fn = (...args: number[]) => void;

/** The kernels working on `memory` (a wasm heap: pointers are byte offsets into it), or null without SIMD. */
export function simdElementwise(memory: WasmMemory): HeapElementwise | null {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const module = compiledModule(shared);
  if (!module) return null;
  const e = new wasmApi!.Instance(module, { env: { memory } }).exports as Record<string, Fn>;
  return {
    kind: 'simd',
    gelu: (src, dst, n) => e.gelu!(src, dst, n),
    erf: (src, dst, n) => e.erf!(src, dst, n),
    exp: (src, dst, n) => e.exp!(src, dst, n),
    expRows: (ptr, rows, width, inv) => e.expRows!(ptr, rows, width, inv),
    softmaxRows: (ptr, rows, width) => e.softmaxRows!(ptr, rows, width),
    scaleRows: (ptr, rows, width, stride, inv) => e.scaleRows!(ptr, rows, width, stride, inv),
    layerNorm: (x, out, weight, bias, rows, width, eps) => e.layerNorm!(x, out, weight, bias, rows, width, eps),
  };
}
