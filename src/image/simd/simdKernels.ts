/**
 * The two WebAssembly SIMD kernels behind the fast Pillow bicubic resize (simdResample.ts). Both work
 * on "lines" of bytes, whatever the band count, so one kernel serves every 8-bit mode:
 * - `transpose`: pixel groups of `bands` bytes, rows become lines (a line per source column).
 * - `pass`: Resample.c's vertical 8bpc pass (ImagingResampleVertical_8bpc) over any lines: output
 *   line yy = clip8(sum_t coef[yy][t] * line[ymin + t] + 2^21) >> 22, 16 bytes at a time with
 *   32-bit lanes, so every sum is the exact C `int` sum. The horizontal pass is this same kernel run
 *   on the transposed image.
 */
import { PRECISION_BITS } from '../resample.js';
import { assembleModule, FunctionWriter, type Local } from '../../wasm/assembler.js';

/**
 * transpose(src, srcStride, width, height, bands, dst, dstStride):
 * dst[x * dstStride + y * bands + b] = src[y * srcStride + x * bands + b].
 * It moves 4 bytes per pixel: the 4 - bands extra bytes land where the next row's pixel (y + 1) is
 * written afterwards, or in the line's padding, so `dstStride` >= height * bands + 3 and `src` must be
 * readable 3 bytes past its last pixel.
 */
function transposeKernel(): FunctionWriter {
  const f = new FunctionWriter('transpose', ['src', 'srcStride', 'width', 'height', 'bands', 'dst', 'dstStride']);
  const { src, srcStride, width, height, bands, dst, dstStride } = f.params;
  const y = f.local('i32'), x = f.local('i32'), sp = f.local('i32'), dp = f.local('i32');
  f.forRange(y, height, 1, () => {
    f.get(src).get(y).get(srcStride).mul().add().set(sp);
    f.get(dst).get(y).get(bands).mul().add().set(dp);
    f.forRange(x, width, 1, () => {
      f.get(dp).get(sp).load().store();
      f.get(sp).get(bands).add().set(sp);
      f.get(dp).get(dstStride).add().set(dp);
    });
  });
  return f;
}

/**
 * pass(src, srcStride, lineLen, dst, dstStride, nOut, bounds, coefs, ksize): for each output line yy,
 * with (ymin, count) = bounds[2yy], bounds[2yy + 1] (int32) and `ksize` coefficients per line stored
 * as 4 copies each (16 bytes: the i32x4 splat, ready to multiply):
 * dst[yy * dstStride + i] = clip8((2^21 + sum_t coef[yy][t] * src[(ymin + t) * srcStride + i]) >> 22)
 * for i < lineLen, computed in 16-byte chunks (lines must be readable and writable up to the next
 * multiple of 16).
 */
function passKernel(): FunctionWriter {
  const f = new FunctionWriter('pass', ['src', 'srcStride', 'lineLen', 'dst', 'dstStride', 'nOut', 'bounds', 'coefs', 'ksize']);
  const { src, srcStride, lineLen, dst, dstStride, nOut, bounds, coefs, ksize } = f.params;
  const yy = f.local('i32'), c = f.local('i32'), t = f.local('i32'), count = f.local('i32');
  const lineBase = f.local('i32'), kBase = f.local('i32'), outLine = f.local('i32'), p = f.local('i32'), kp = f.local('i32');
  const [a0, a1, a2, a3] = [f.local('v128'), f.local('v128'), f.local('v128'), f.local('v128')];
  const pixels = f.local('v128'), half16 = f.local('v128'), coef = f.local('v128');
  const accumulate = (a: Local, widen: () => void): void => {
    f.get(a).get(half16);
    widen();
    f.get(coef).i32x4Mul().i32x4Add().set(a);
  };
  f.forRange(yy, nOut, 1, () => {
    f.get(bounds).get(yy).i32(8).mul().add().set(p);
    f.get(src).get(p).load().get(srcStride).mul().add().set(lineBase);
    f.get(p).load(4).set(count);
    f.get(coefs).get(yy).get(ksize).mul().i32(16).mul().add().set(kBase);
    f.get(dst).get(yy).get(dstStride).mul().add().set(outLine);
    f.forRange(c, lineLen, 16, () => {
      for (const a of [a0, a1, a2, a3]) f.i32(1 << (PRECISION_BITS - 1)).i32x4Splat().set(a);
      f.get(lineBase).get(c).add().set(p);
      f.get(kBase).set(kp);
      f.forRange(t, count, 1, () => {
        f.get(kp).v128Load().set(coef);
        f.get(p).v128Load().set(pixels);
        // 16 bytes -> two i16x8 halves -> four i32x4 quarters, in byte order
        f.get(pixels).extendLowU8().set(half16);
        accumulate(a0, () => f.extendLowU16());
        accumulate(a1, () => f.extendHighU16());
        f.get(pixels).extendHighU8().set(half16);
        accumulate(a2, () => f.extendLowU16());
        accumulate(a3, () => f.extendHighU16());
        f.get(p).get(srcStride).add().set(p);
        f.get(kp).i32(16).add().set(kp);
      });
      // clip8: >> 22, then saturating narrows i32 -> i16 -> u8 clamp to 0..255 exactly
      f.get(outLine).get(c).add();
      f.get(a0).i32(PRECISION_BITS).i32x4ShrS().get(a1).i32(PRECISION_BITS).i32x4ShrS().narrowI32ToI16S();
      f.get(a2).i32(PRECISION_BITS).i32x4ShrS().get(a3).i32(PRECISION_BITS).i32x4ShrS().narrowI32ToI16S();
      f.narrowI16ToU8().v128Store();
    });
  });
  return f;
}

/**
 * premultiply{bands}(ptr, len): Convert.c rgbA2rgba (bands 4) / lA2la (bands 2) in place on
 * [ptr, ptr + len) rounded up to 16 bytes: every colour byte becomes MULDIV255(v, alpha) =
 * (t + (t >> 8)) >> 8 with t = v * alpha + 128, which stays below 2^16, so 16-bit lanes are exact.
 * Alpha bytes are kept.
 */
function premultiplyKernel(bands: 2 | 4): FunctionWriter {
  const f = new FunctionWriter(`premultiply${bands}`, ['ptr', 'len']);
  const { ptr, len } = f.params;
  const c = f.local('i32'), p = f.local('i32');
  const pixels = f.local('v128'), alpha = f.local('v128'), low = f.local('v128');
  const alphaLanes = Array.from({ length: 16 }, (_, i) => i - (i % bands) + bands - 1); // each byte -> its pixel's alpha
  const alphaMask = Array.from({ length: 16 }, (_, i) => (i % bands === bands - 1 ? 0xff : 0));
  const mulDiv255 = (widen: () => void): void => {
    f.get(pixels); widen();
    f.get(alpha); widen();
    f.i16x8Mul().i32(128).i16x8Splat().i16x8Add().set(low); // t = v * a + 128
    f.get(low).get(low).i32(8).i16x8ShrU().i16x8Add().i32(8).i16x8ShrU(); // (t + (t >> 8)) >> 8
  };
  f.forRange(c, len, 16, () => {
    f.get(ptr).get(c).add().tee(p).v128Load().set(pixels);
    f.get(pixels).get(pixels).shuffle(alphaLanes).set(alpha);
    f.get(p); // store address
    f.get(pixels); // bitselect: alpha bytes from here
    mulDiv255(() => f.extendLowU8());
    mulDiv255(() => f.extendHighU8());
    f.narrowI16ToU8();
    f.v128Const(alphaMask).bitselect().v128Store();
  });
  return f;
}

/** The kernels' module bytes (about 800 bytes, built once). */
export function resampleModuleBytes(): Uint8Array {
  return assembleModule([transposeKernel(), passKernel(), premultiplyKernel(4), premultiplyKernel(2)]);
}
